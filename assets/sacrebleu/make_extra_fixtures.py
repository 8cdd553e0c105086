"""Writes extra_fixtures.json: more of sacreBLEU's own scores, beyond fixtures.json.

Covers BLEU with the `char` and `none` tokenizers, multi-reference BLEU / chrF / chrF++,
and chrF++ (word_order=2) at corpus and sentence level. Every number comes from
sacreBLEU's own API (`sacrebleu.metrics.BLEU` / `sacrebleu.metrics.CHRF`).
The Rust tests (crates/transduce-train/src/score.rs) are expected to reproduce the
numbers to within 0.01 and the signature strings exactly.

The single-reference CASES are taken from make_fixtures.py (the part of that script
before its output section is executed, so the two scripts always share the same cases).

Run from the repository root, with the sacreBLEU version recorded in the output:

    pip install sacrebleu==2.6.0
    python3 assets/sacrebleu/make_extra_fixtures.py

It writes assets/sacrebleu/extra_fixtures.json next to this script (it prints nothing).

Output layout (all scores are on sacreBLEU's 0..100 scale):

    {
     "sacrebleu_version": "2.6.0",
     "signatures": {"13a": ..., "char": ..., "none": ...},   # BLEU, nrefs:1
     "tokenize": {case: {"hyps", "refs", "char": BLEU, "none": BLEU}},
     "multi_ref": {case: {"hyps", "refs": [stream, ...], "bleu": BLEU,
                          "chrf": CHRF, "chrf_pp": CHRF}},
     "chrf_pp": {"corpus": {case: {"hyps", "refs", "chrf_pp": CHRF}},
                 "sentence": {case: {"hyps", "refs", "scores": [float, ...]}},
                 "pairs": [{"hyp", "refs": [str, ...], "score", "signature"}, ...]}
    }

where BLEU = {"score", "precisions" (4 floats), "bp", "sys_len", "ref_len", "signature",
"formatted"} and CHRF = {"score", "char_order", "word_order", "beta", "signature",
"formatted"}. "formatted" is str(result), e.g. "BLEU = 61.58 82.1/69.2/58.3/50.0 (BP = ...)".
"""
import json
import os
import random

import sacrebleu
from sacrebleu.metrics import BLEU, CHRF

HERE = os.path.dirname(os.path.abspath(__file__))


def load_cases():
    """Executes make_fixtures.py up to its output section and returns its CASES."""
    with open(os.path.join(HERE, "make_fixtures.py"), encoding="utf-8") as f:
        src = f.read()
    marker = "\nout = "
    assert marker in src, "make_fixtures.py layout changed; update load_cases()"
    ns = {"__name__": "make_fixtures_cases"}
    exec(compile(src[: src.index(marker)], "make_fixtures.py", "exec"), ns)
    return ns["CASES"]


def bleu_result(metric, hyps, refs):
    res = metric.corpus_score(hyps, refs)
    return {
        "score": res.score,
        "precisions": res.precisions,
        "bp": res.bp,
        "sys_len": res.sys_len,
        "ref_len": res.ref_len,
        "signature": metric.get_signature().format(),
        "formatted": str(res),
    }


def chrf_result(metric, hyps, refs):
    res = metric.corpus_score(hyps, refs)
    return {
        "score": res.score,
        "char_order": res.char_order,
        "word_order": res.word_order,
        "beta": res.beta,
        "signature": metric.get_signature().format(),
        "formatted": str(res),
    }


def random_multi_ref(seed, n_sent=30, n_refs=3):
    rng = random.Random(seed)
    words = ("the a cat dog sat on mat house red blue runs quickly , . ! ? 42 3.5 "
             "l'homme über naïve café (big) \"quoted\" e-mail").split()
    hyps, streams = [], [[] for _ in range(n_refs)]
    for _ in range(n_sent):
        base = [rng.choice(words) for _ in range(rng.randint(1, 15))]
        for stream in streams:
            ref = [w if rng.random() < 0.75 else rng.choice(words) for w in base]
            if rng.random() < 0.3:  # vary reference lengths a lot
                ref = ref + [rng.choice(words) for _ in range(rng.randint(1, 8))]
            elif rng.random() < 0.3:
                ref = ref[: rng.randint(1, len(ref))]
            stream.append(" ".join(ref))
        hyp = [w if rng.random() < 0.7 else rng.choice(words) for w in base]
        if rng.random() < 0.2:
            hyp = hyp[: rng.randint(0, len(hyp))]
        hyps.append(" ".join(hyp))
    return hyps, streams


MULTI_REF = {
    # The hypotheses are exactly the second reference stream: BLEU and chrF must be 100.
    "hyp_matches_second_ref": (
        ["the cat is sitting on the mat .", "He didn't go to school today."],
        [
            ["a cat sat on a mat .", "He did not attend school today."],
            ["the cat is sitting on the mat .", "He didn't go to school today."],
        ],
    ),
    # Reference lengths (13a tokens) differ a lot, so the closest-length rule matters:
    # sentence 1: hyp 4 tokens, refs 2 and 6 -> tie (diff 2), the shorter (2) wins;
    # sentence 2: hyp 5 tokens, refs 1, 12 and 7 -> 7 is closest;
    # sentence 3: hyp 3 tokens, refs 3 and 10 -> exact length 3;
    # sentence 4: hyp 9 tokens, longer than every ref (2, 4, 5) -> 5.
    "closest_length": (
        ["one two three four", "the quick brown fox jumps", "red green blue",
         "we walked all the way to the old harbour"],
        [
            ["one two", "fox", "red green blue", "we walked"],
            ["one two three four five six", "the quick brown fox jumps over the lazy dog near the river",
             "red and green and blue and yellow and black too", "we walked to harbour"],
            ["zero one two three four five", "a quick brown fox jumps over dogs",
             "blue", "we walked all the way"],
        ],
    ),
    # The second stream has empty references for some segments; '' is kept as a
    # reference of length 0 (only None is dropped by sacreBLEU).
    "empty_ref_in_stream": (
        ["a small house by the lake", "nothing here", "", "good morning everyone"],
        [
            ["a little house near the lake", "nothing to see here", "silence", "good morning to all"],
            ["", "nothing here", "", "hello everyone"],
        ],
    ),
    # Accented Latin, German sharp s, French elision; three streams.
    "accents": (
        ["Le garçon mange une pomme à côté de l'église.", "Die Straße ist über fünf Kilometer lang.",
         "Ça coûte 3,50 € à Noël."],
        [
            ["Le garçon mange la pomme près de l'église.", "Die Strasse ist über fünf Kilometer lang.",
             "Cela coûte 3,50 € à Noël."],
            ["Un garçon mange une pomme à côté de l’église.", "Die Straße ist mehr als fünf Kilometer lang.",
             "Ça coûte 3.50 euros à Noël."],
            ["Le garcon mange une pomme a cote de l'eglise.", "Die Straße ist fünf km lang.",
             "Ca coute 3,50 EUR a Noel."],
        ],
    ),
    # Punctuation attached to / detached from words: exercises 13a and chrF++'s
    # punctuation splitting ("(hi)" -> "(hi", ")").
    "punctuation": (
        ['Hello, world! "Quoted" (text) [brackets] e-mail a/b', "Is it 5 o'clock? Yes: it is; really!",
         "(hi)", "Wait... what?!"],
        [
            ['Hello , world ! " Quoted " ( text ) [ brackets ] e-mail a / b',
             "Is it 5 o'clock ? Yes , it is ; truly !", "( hi )", "Wait ... what ? !"],
            ['Hello world "Quoted" text brackets email a/b', "Is it five o'clock? Yes, it is, really!",
             "hi", "Wait…what?!"],
        ],
    ),
    # Multi-ref with a single-character hypothesis and single-character words.
    "short_segments": (
        ["a", "I", "x y z"],
        [["a", "me", "x y"], ["an", "I", "z y x"], ["b", "I am", "x"]],
    ),
}
for seed in (0, 1):
    MULTI_REF[f"random_3refs_{seed}"] = random_multi_ref(100 + seed)


SENTENCE_CHRF_PP_PAIRS = [
    ("the cat sat on the mat", ["the cat sat on the mat"]),
    ("the cat sat on the mat", ["a cat sat on a mat"]),
    ("(hi) there, friend!", ["hi there , friend !"]),
    ("Hello, world!", ["Hello world"]),
    ("I am", ["I am here ."]),
    ("a", ["a"]),
    ("a", ["b"]),
    ("", ["something"]),
    ("something", [""]),
    ("Ça coûte 3,50 € à Noël.", ["Cela coûte 3,50 € à Noël."]),
    ("quick brown fox", ["the quick brown fox", "a fast brown fox", "quick brown dog"]),
    ("it's 10:30 ... isn't it?", ["It is 10:30, is it not?", "it's half past ten... isn't it?"]),
]


def main():
    cases = load_cases()
    out = {"sacrebleu_version": sacrebleu.__version__}

    # Signatures of BLEU objects for the three tokenizers (single reference).
    sigs = {}
    for tok in ("13a", "char", "none"):
        m = BLEU(tokenize=tok)
        m.corpus_score(["a b"], [["a b"]])  # nrefs is only known after scoring
        sigs[tok] = m.get_signature().format()
    out["signatures"] = sigs

    out["tokenize"] = {}
    for name, (hyps, refs) in cases.items():
        out["tokenize"][name] = {
            "hyps": hyps,
            "refs": refs,
            "char": bleu_result(BLEU(tokenize="char"), hyps, [refs]),
            "none": bleu_result(BLEU(tokenize="none"), hyps, [refs]),
        }

    out["multi_ref"] = {}
    for name, (hyps, streams) in MULTI_REF.items():
        assert all(len(s) == len(hyps) for s in streams), name
        out["multi_ref"][name] = {
            "hyps": hyps,
            "refs": streams,
            "bleu": bleu_result(BLEU(), hyps, streams),
            "chrf": chrf_result(CHRF(), hyps, streams),
            "chrf_pp": chrf_result(CHRF(word_order=2), hyps, streams),
        }

    pp = {"corpus": {}, "sentence": {}, "pairs": []}
    for name, (hyps, refs) in cases.items():
        pp["corpus"][name] = {"hyps": hyps, "refs": refs,
                              "chrf_pp": chrf_result(CHRF(word_order=2), hyps, [refs])}
    for name in ("punctuation", "random_0"):
        hyps, refs = cases[name]
        pp["sentence"][name] = {
            "hyps": hyps,
            "refs": refs,
            "scores": [sacrebleu.sentence_chrf(h, [r], word_order=2).score for h, r in zip(hyps, refs)],
        }
    for hyp, refs in SENTENCE_CHRF_PP_PAIRS:
        m = CHRF(word_order=2)
        score = m.sentence_score(hyp, refs).score
        assert score == sacrebleu.sentence_chrf(hyp, refs, word_order=2).score
        pp["pairs"].append({"hyp": hyp, "refs": refs, "score": score,
                            "signature": m.get_signature().format()})
    out["chrf_pp"] = pp

    with open(os.path.join(HERE, "extra_fixtures.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
