"""Writes fixtures.json (and charsets.json): sacremoses' Moses detokenisation of hand-written sentences.

The Rust side implements a Moses-style detokeniser for en, de and fr that must reproduce
`sacremoses.MosesDetokenizer(lang).detokenize(tokens)` exactly (default arguments:
return_str=True, unescape=True). See ALGORITHM.md in this directory for a description of
the algorithm.

Run from the repository root, with the sacremoses version recorded in the output:

    pip install sacremoses==0.2.0
    python3 assets/moses/make_fixtures.py

It writes, next to this script (printing nothing):

fixtures.json
    {
     "sacremoses_version": "0.2.0",
     "cases": [
      {"lang": "en" | "de" | "fr",
       "sentence": original hand-written sentence,
       "moses_tokens":   MosesTokenizer(lang).tokenize(sentence, escape=False),
       "moses_expected": MosesDetokenizer(lang).detokenize(moses_tokens),
       "word_tokens":    word_tokens(sentence)   (our own word tokenizer, see below),
       "word_expected":  MosesDetokenizer(lang).detokenize(word_tokens)}, ...],
     "token_cases": [
      {"lang", "note", "tokens", "expected": MosesDetokenizer(lang).detokenize(tokens)}, ...]
    }

    "token_cases" are hand-made token lists that hit the corners of the algorithm directly
    (XML unescaping, " @-@ " joins, quote counting, CJK, currency, empty input, ...).

charsets.json
    The exact character classes the detokeniser uses, as sorted lists of inclusive
    [first, last] code point ranges: "IsAlpha" and "IsSc" (sacremoses' Perl-derived
    tables, not Python's or Rust's notion of alphabetic) and "CJK" (is_cjk()).

word_tokens() mirrors `split_words` in crates/transduce-data/src/tokenizer.rs: for each
whitespace-separated word, alphanumeric characters and the joiners U+0300..U+036F,
U+200C, U+200D accumulate into the current token; any other character ends the current
token and is emitted as a token of its own. The sentences are checked to avoid the few
characters where Python's isalnum()/split() disagree with Rust's
is_alphanumeric()/split_whitespace() (combining marks outside the joiner range and the
ASCII separators U+001C..U+001F).
"""
import json
import os
import unicodedata

import sacremoses
from sacremoses import MosesDetokenizer, MosesTokenizer
from sacremoses._data_perluniprops import PERLUNIPROPS
from sacremoses.util import CJKChars

HERE = os.path.dirname(os.path.abspath(__file__))
NBSP = "\u00a0"
NNBSP = "\u202f"

SENTENCES = {
    "en": [
        "Hello, world! How are you today?",
        "It's a nice day, isn't it? I don't think so.",
        "The students' books were left in the teacher's office.",
        'She said, "I\'ll be there at 5 p.m." and left.',
        "He whispered 'goodbye' and closed the door.",
        "The price rose by 12.5% to $1,000.50 last year.",
        "We paid €25 for tickets (including fees) and £3.20 for snacks.",
        "Wait... are you sure? Yes!",
        "The well-known author wrote a state-of-the-art novel.",
        "Visit https://example.com/path?id=42 or email info@example.org for details.",
        "Use the and/or operator; it's simpler: a/b/c.",
        "The meeting runs 9:30-10:45 \u2014 don't be late.",
        "Temperatures ranged from -5 to +3 degrees [approximately].",
        '"Why?" she asked. "Because," he replied, "it\'s \'complicated\'."',
        "In 1999, the population was 3,456,789; by 2020 it was 4.1 million.",
        "I can't, won't, and shouldn't do that!",
        "The '90s were great, weren't they?",
        "Dr. Smith's lab (Room 4B) opens at 8 a.m. on Mon.",
        "Items: apples, oranges, pears; total = 7.",
        "He scored 10/10 on the test -- amazing!",
        "Are you coming?! I've been waiting for ages...",
        "The Jones' house is at 42 Elm St., next to Tom's naïve café.",
        "She bought 2.5 kg of flour for ¥300 and 1,000.5 grams of sugar.",
        "Press Ctrl+C to copy & Ctrl+V to paste; #1 tip!",
        "\u2018Hello,\u2019 he said \u2013 \u201cnice to meet you.\u201d",
        "O'Neill and D'Angelo aren't here; they're at the U.S. embassy.",
        "Is it 50% off? {Really} <no> way!",
    ],
    "de": [
        "Wie geht's dir heute?",
        "Das Haus kostet 1.250.000,50 € und ist sehr schön.",
        "Er sagte: \u201eIch komme morgen um 15:30 Uhr.\u201c",
        'Sie fragte: "Hast du das gesehen?" Ich nickte.',
        "Die Inflationsrate lag bei 2,5 % im Jahr 2023.",
        "Die Nord-Süd-Verbindung (geplant seit 1990) ist fertig.",
        "Was?! Das kann doch nicht wahr sein...",
        "Herr Müller, Frau Schmidt und Dr. Weiß waren anwesend.",
        "Das Buch heißt \u00bbDer Prozess\u00ab und ist von Kafka.",
        "Die Straße ist 3,7 km lang; die Brücke misst 120 m.",
        "Bitte besuchen Sie www.beispiel.de/kontakt für weitere Infos.",
        "Wir treffen uns am 3. Oktober \u2013 nicht am 4.!",
        "Das ist \u201aironisch\u2018 gemeint, oder?",
        "Er hat's geschafft, sie hat's nicht.",
        "Äpfel, Birnen und Öl kosten zusammen 12,99 $.",
        "Kinder- und Jugendbuch; E-Mail-Adresse [optional].",
        "Die Antwort ist ja/nein/vielleicht.",
        "Achtung! Hier wird's gefährlich.",
        "\u00abGuten Morgen\u00bb, sagte sie.",
        "Im 19. Jahrhundert lebten ca. 40 % der Menschen auf dem Land.",
        "Der Zug fährt um 8.15 Uhr ab \u2014 pünktlich wie immer.",
        "Gib mir 'nen Kaffee, bitte!",
        "Die Firma (gegr. 1875) hat 10.000 Mitarbeiter.",
        "\u201eWarum?\u201c, fragte er. \u201eDarum!\u201c",
        "So geht's: erst A, dann B... fertig!",
        "Das kostet 5€ \u2013 oder 4,50 € mit Rabatt; 1.000,5 g Mehl.",
        "Sie rief 'Hallo!' und winkte.",
    ],
    "fr": [
        "Bonjour, comment allez-vous ?",
        "L'homme n'est pas là aujourd'hui.",
        "Qu'il vienne demain ! Je l'attendrai.",
        "Elle a dit : « Je ne sais pas. »",
        "Le prix est de 1 000,50 € ; c'est cher !",
        "Il fait 25,5 °C aujourd'hui.",
        "« Pourquoi ? » demanda-t-il.",
        "J'ai mangé une pomme, une poire et des fraises...",
        "Voici la liste : pain, lait, œufs.",
        "C'est-à-dire qu'on ne peut pas (encore) partir.",
        "Le taux est passé à 3,2 % en 2022.",
        "Rendez-vous sur www.exemple.fr/aide pour plus d'infos.",
        "Est-ce que tu viens ? Oui !",
        'Il m\'a dit "d\'accord" hier soir.',
        "L'été dernier, j'ai visité l'Île-de-France.",
        "Jusqu'à quand restes-tu ? Jusqu'au 15 août.",
        "Le livre coûte 12 $ ou 10 € [environ].",
        "S'il te plaît, donne-moi ça ; merci.",
        "Ah ! Quelle belle journée !",
        "Les élèves ont obtenu 15/20 en moyenne \u2014 bravo !",
        "Aujourd'hui, le 1er mai, c'est férié.",
        "Lorsqu'il pleut, on reste à l'intérieur.",
        "Il a payé 1.000,5 euros, soit 1,000.5 dollars ?",
        f"«{NBSP}Bonjour{NBSP}», dit-elle{NNBSP}; «{NBSP}au revoir{NBSP}», répondit-il.",
        "Presqu'île, quelqu'un, puisqu'on : des élisions rares.",
        "Il est 10 h 30 ; le train part à 11 h... en retard?",
        "Il a crié 'Attention !' puis \u201cStop\u201d.",
    ],
}

# Hand-made token lists for corners the sentences may not reach.
TOKEN_CASES = [
    ("en", "empty input", []),
    ("en", "only spaces inside tokens", ["a b", " c "]),
    ("en", "XML unescaping (all entities, &amp; last)",
     ["&lt;b&gt;", "&quot;x&quot;", "&apos;s", "&#124;", "&bar;", "&#91;", "&#93;", "&bra;", "&ket;", "&amp;lt;"]),
    ("en", "unescaped &amp; word", ["AT", "&amp;", "T"]),
    ("en", "aggressive hyphen split", ["state", "@-@", "of", "@-@", "the", "@-@", "art"]),
    ("en", "consecutive @-@ (non-overlapping regex)", ["a", "@-@", "@-@", "b"]),
    ("en", "double quotes counted", ['"', "a", '"', "b", '"', "c", '"']),
    ("en", "single quotes and possessive s", ["the", "Jones", "'", "house", "'", "x", "'"]),
    ("en", "possessive needs lowercase s", ["JONES", "'", "house", "boss", "'", "car"]),
    ("en", "backquotes and double single quotes are separate counters",
     ["``", "a", "''", "b", "``", "c", "`", "d", "`", "''"]),
    ("en", "typographic quotes", ["\u201c", "a", "\u201d", "b", "\u201e", "c", "\u201c", "\u2018", "d", "\u2019"]),
    ("en", "mixed quote runs", ["\"'", "a", "\"'", "''", "b", "'''"]),
    ("en", "contraction requires alpha after apostrophe", ["it", "'s", "the", "'90s", "rock", "'n'", "roll"]),
    ("en", "contraction at position 0 is not shifted", ["'s", "ok"]),
    ("en", "currency and opening brackets shift right",
     ["(", "[", "{", "$", "5", "\u00bf", "que", "?", "\u00a1", "hola", "!", "\u20ac", "\u00a3", "}", "]", ")"]),
    ("en", "multi-char punctuation tokens", ["wow", "?!", "...", ":;", "%%", "\\", "a", ").", "b"]),
    ("en", "punctuation not in the left-shift set", ["a", "-", "b", "\u2026", "c", "/", "d", "\u00bb", "e", "\u00ab"]),
    ("en", "CJK runs", ["\u4f60\u597d", "\u4e16\u754c", "abc", "\u65e5\u672c", "x\u4e2d", "\u6587", "\ud55c\uad6d\uc5b4", "\uac00"]),
    ("en", "CJK after currency", ["$", "\u4e2d", "\u6587"]),
    ("de", "German quotes", ["\u201e", "Hallo", "\u201c", ",", "sagte", "er", "."]),
    ("de", "no English contraction rule in de", ["geht", "'s", "gut", "?"]),
    ("fr", "French space before ? ! : ; % and backslash", ["Oui", "?", "Non", "!", "a", ":", "b", ";", "5", "%", "x", "\\"]),
    ("fr", "French multi-char punctuation gets no space", ["Quoi", "?!", "Bon", "...", "x", "%%"]),
    ("fr", "French elision right shift", ["l'", "homme", "qu'", "il", "aujourd'", "hui", "l'", "\u00e9t\u00e9"]),
    ("fr", "elision before non-alpha or at end", ["l'", "5", "d'", "\"", "x", "l'"]),
    ("fr", "French ? after currency still spaced", ["$", "?", "(", "!"]),
    ("fr", "no English contraction rule in fr", ["it", "'s"]),
    ("fr", "guillemets are ordinary tokens", ["\u00ab", "Bonjour", "\u00bb", ",", "dit", "-il"]),
    ("fr", "elision needs a letter before the apostrophe", ["5'", "homme", "'", "est", "x'", "y"]),
    ("en", "ASCII and typographic double quotes share one counter", ['"', "a", "\u201c", "b", "\u201e\u201c", "c", "\u201d\u201d", "d"]),
    ("en", "mixed ASCII/typographic quote run is its own counter", ['"\u201c', "a", '"\u201c', "b"]),
    ("fr", "NBSP, narrow NBSP and thin space inside tokens split like spaces (Python str.split)",
     ["10\u00a0000", "\u20ac", "Vraiment\u202f?", "a\u2009b"]),
    ("en", "zero-width space is not whitespace", ["a\u200b", "b", "\u200b", "."]),
    ("en", "joined hyphen token then rules apply", ["5", "@-@", "%", "(", "@-@", "x"]),
]


def word_tokens(text):
    """Python twin of split_words() in crates/transduce-data/src/tokenizer.rs."""
    tokens = []
    for word in text.split():
        current = ""
        for c in word:
            if c.isalnum() or "\u0300" <= c <= "\u036f" or c in "\u200c\u200d":
                current += c
            else:
                if current:
                    tokens.append(current)
                    current = ""
                tokens.append(c)
        if current:
            tokens.append(current)
    return tokens


def check_portable(sentence):
    """Rejects characters on which Python's isalnum/split and Rust's is_alphanumeric/split_whitespace differ."""
    for c in sentence:
        cat = unicodedata.category(c)
        joiner = "\u0300" <= c <= "\u036f" or c in "\u200c\u200d"
        assert not (cat in ("Mn", "Mc", "Me") and not joiner), (sentence, hex(ord(c)))
        assert not ("\x1c" <= c <= "\x1f"), (sentence, hex(ord(c)))
        assert cat[0] in "LNPSZ" or joiner, (sentence, hex(ord(c)), cat)


def ranges(chars):
    cps = sorted(set(ord(c) for c in chars))
    out = []
    for cp in cps:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def main():
    cases = []
    for lang, sentences in SENTENCES.items():
        tok = MosesTokenizer(lang)
        detok = MosesDetokenizer(lang)
        for sentence in sentences:
            check_portable(sentence)
            moses = tok.tokenize(sentence, escape=False)
            words = word_tokens(sentence)
            cases.append({
                "lang": lang,
                "sentence": sentence,
                "moses_tokens": moses,
                "moses_expected": detok.detokenize(moses),
                "word_tokens": words,
                "word_expected": detok.detokenize(words),
            })
    token_cases = []
    for lang, note, tokens in TOKEN_CASES:
        token_cases.append({"lang": lang, "note": note, "tokens": tokens,
                            "expected": MosesDetokenizer(lang).detokenize(tokens)})
    out = {"sacremoses_version": sacremoses.__version__, "cases": cases, "token_cases": token_cases}
    with open(os.path.join(HERE, "fixtures.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")

    charsets = {
        "sacremoses_version": sacremoses.__version__,
        "note": "inclusive [first, last] code point ranges; IsSc also holds U+000A in sacremoses' "
                "table (harmless: tokens never contain a newline) and it is kept here",
        "IsAlpha": ranges(PERLUNIPROPS["IsAlpha"]),
        "IsSc": ranges(PERLUNIPROPS["IsSc"]),
        "CJK": [list(r) for r in CJKChars.ranges],
    }
    with open(os.path.join(HERE, "charsets.json"), "w", encoding="utf-8") as f:
        json.dump(charsets, f)
        f.write("\n")


if __name__ == "__main__":
    main()
