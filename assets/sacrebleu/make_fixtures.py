"""Writes fixtures.json: sacreBLEU's own scores for varied hypothesis/reference sets.

The Rust tests (crates/transduce-train/src/score.rs) must reproduce every number to within 0.01.
Run with the sacreBLEU version recorded in the output:

    pip install sacrebleu==2.6.0
    python3 assets/sacrebleu/make_fixtures.py > assets/sacrebleu/fixtures.json
"""
import json
import random

import sacrebleu

CASES = {
    "identical": (["the cat sat on the mat .", "a dog barks"], ["the cat sat on the mat .", "a dog barks"]),
    "punctuation": (
        ['Hello, world! "Quoted" (text) [brackets] {braces} a/b c-d e--f', "It's 5 o'clock; isn't it?"],
        ['Hello , world ! "Quoted" text [brackets] {braces} a / b c-d e - f', "It is 5 o'clock: isn't it ?"],
    ),
    "numbers": (
        ["In 2026, 3.14 and 1,000,000 people paid $5.99 - about 12-15 %.", "Call 555-1234 at 10.30."],
        ["In 2026 , 3.14 and 1,000,000 persons paid $ 5.99 , about 12 - 15%.", "Call 555-1234 at 10:30."],
    ),
    "accents_and_scripts": (
        ["Le garçon mange une pomme à côté de l'église.", "Ünïcödé naïve café", "고양이가 매트 위에 앉았다", "Straße über Äpfel"],
        ["Le garçon mange la pomme près de l'église.", "Unicode naive café", "고양이가 매트 위에 있다", "Strasse über Äpfel"],
    ),
    "empty_hypotheses": (["", "a b c", ""], ["x y z", "a b c d", "p"]),
    "one_word": (["yes", "no", "maybe"], ["yes", "nope", "maybe not"]),
    "html_entities": (["A &amp; B &lt;tag&gt; &quot;q&quot;"], ['A & B <tag> "q"']),
    "no_overlap": (["completely different words here"], ["nothing in common at all"]),
    "short_brevity": (["the cat"], ["the cat sat on the mat"]),
    "long_hyp": (["the the the the the the the the cat cat cat"], ["the cat is on the mat"]),
    "whitespace": (["  leading and   trailing   ", "tab\tseparated"], ["leading and trailing", "tab separated"]),
}


def random_case(seed):
    rng = random.Random(seed)
    words = "the a cat dog sat on mat house red blue runs quickly , . ! ? 42 3.5 l'homme über naïve".split()
    hyps, refs = [], []
    for _ in range(30):
        ref = [rng.choice(words) for _ in range(rng.randint(1, 15))]
        hyp = [w if rng.random() < 0.7 else rng.choice(words) for w in ref]
        if rng.random() < 0.3:
            hyp = hyp[: rng.randint(0, len(hyp))]
        hyps.append(" ".join(hyp))
        refs.append(" ".join(ref))
    return hyps, refs


for seed in range(3):
    CASES[f"random_{seed}"] = random_case(seed)

out = {"sacrebleu_version": sacrebleu.__version__, "cases": {}}
for name, (hyps, refs) in CASES.items():
    bleu = sacrebleu.corpus_bleu(hyps, [refs])
    chrf = sacrebleu.corpus_chrf(hyps, [refs])
    out["cases"][name] = {
        "hyps": hyps,
        "refs": refs,
        "bleu": bleu.score,
        "bleu_precisions": bleu.precisions,
        "bleu_bp": bleu.bp,
        "sys_len": bleu.sys_len,
        "ref_len": bleu.ref_len,
        "chrf": chrf.score,
        "sentence_bleu": [sacrebleu.sentence_bleu(h, [r]).score for h, r in zip(hyps, refs)],
        "sentence_chrf": [sacrebleu.sentence_chrf(h, [r]).score for h, r in zip(hyps, refs)],
        "tokenized_13a": [sacrebleu.tokenizers.tokenizer_13a.Tokenizer13a()(h) for h in hyps],
    }
print(json.dumps(out, ensure_ascii=False, indent=1))
