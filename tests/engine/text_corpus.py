"""Deterministic generator of varied text for tokenizer training and parity tests: English-like
words, accented Latin, Greek, Cyrillic, CJK, kana, Hangul, Arabic and Hebrew with marks,
Devanagari, Thai, emoji (ZWJ sequences, skin tones, flags, keycaps), numbers, punctuation and
symbols, control, format and zero-width characters, whitespace runs, very long words, special
token strings, compatibility forms, private-use and unassigned code points, and (as bytes)
invalid UTF-8."""
import random

SYLLABLES = ['ka', 'to', 'ri', 'men', 'sta', 'ble', 'un', 'der', 'ing', 'tion', 'pre', 'con', 'ex', 'pro', 'al',
             'er', 'est', 'ly', 'ness', 'ment', 'the', 'and', 'qu', 'ick', 'br', 'own', 'fox', 'jump', 'ov', 'la',
             'zy', 'dog', 'data', 'base', 'net', 'work', 'model', 'vec', 'tor', 'em', 'bed', 'rank', 'doc', 'ument']
COMMON = ['the', 'of', 'and', 'to', 'in', 'is', 'was', 'for', 'on', 'with', 'as', 'by', 'at', 'an', 'be', 'this',
          'that', 'from', 'or', 'which', 'query', 'passage', 'search', 'embedding', 'retrieval', 'air', 'gap',
          "don't", "we'll", "it's", "they're", "I've", "she'd", "o'clock", 'U.S.A.', 'e-mail', 'state-of-the-art']
ACCENTED = ['café', 'naïve', 'résumé', 'Ångström', 'Straße', 'façade', 'Zürich', 'São', 'Paulo', 'Kraków', 'Ørsted',
            'Dvořák', 'ﬁnancial', 'ﬂow', 'coöperate', 'El Niño', 'Þingvellir', 'İstanbul', 'ǅemal', 'Œuvre', 'Æsir',
            'élève', 'ÉCOLE', 'MÜNCHEN', 'e\u0301te\u0301', 'a\u0308\u0301', 'n\u0303']
GREEK = ['Αθήνα', 'ΣΊΣΥΦΟΣ', 'λόγος', 'Ωμέγα', 'ὁδός', 'φιλοσοφία', 'ΟΔΥΣΣΕΥΣ']
CYRILLIC = ['Привет', 'МОСКВА', 'ёжик', 'Ёлка', 'Україна', 'щёлк', 'ЪЫЬ', 'Љубљана']
CJK = ['東京', '北京大学', '人工智能', '机器学习模型', '漢字', '𠀋𠂢', '日本語のテキスト', 'ひらがな', 'カタカナ',
       'ｶﾀｶﾅ', '한국어', '서울특별시', '中文，標點。', '「引用」', '〇一二三']
ARABIC = ['مرحبا', 'العربية', 'كِتَابٌ', 'مُحَمَّد', '٠١٢٣٤٥٦٧٨٩', 'שָׁלוֹם', 'עברית', 'ﷺ', 'ﻻ']
INDIC = ['नमस्ते', 'हिन्दी', 'क्षत्रिय', 'தமிழ்', 'ภาษาไทย', 'ที่นี่', 'ཀ་ཁ་', '각']
EMOJI = ['😀', '👍🏽', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇩🇪', '🇺🇸🇫🇷', '1️⃣', '❤️', '🥰', '🫠', '🤖', '👩🏿‍💻', '☕', '✨', '🧑‍🚀']
NUMBERS = ['42', '3.14159', '1,000,000', '-7', '1e-9', '2024-06-01', '12:30', '$19.99', '€5', '¥1000', '50%',
           '①②③', '½', '²³', 'Ⅻ', '০১২', '٣']
PUNCT = ['.', ',', '!', '?', ';', ':', '...', '…', '—', '–', '-', '(', ')', '[', ']', '{', '}', '"', "'", '«', '»',
         '“', '”', '‘', '’', '@', '#', '$', '%', '^', '&', '*', '_', '+', '=', '<', '>', '/', '\\', '|', '~', '`',
         '¿', '¡', '§', '¶', '†', '•', '·', '‰', '′', '″', '※', '⁂']
SYMBOLS = ['©', '®', '™', '°', '±', '×', '÷', '∑', '∫', '√', '∞', '≈', '≠', '≤', '→', '⇒', '♥', '♪', '☃', '⌘', '㎏',
           '㍻', 'Ω', 'K', 'Å', 'ℌ', '𝔘𝔫𝔦', '𝟙𝟚', 'ＡＢＣ', '１２３', 'ｆｕｌｌ', '℃', '№']
SPECIAL_STRINGS = ['[CLS]', '[SEP]', '[MASK]', '[PAD]', '[UNK]', '[mask]', '<s>', '</s>', '<mask>', '<pad>', '<unk>',
                   ' <mask> ', '[MASK][MASK]', 'a[MASK]b', '<mask>.', '<<s>>']
CONTROL = ['\x00', '\x01', '\x07', '\x0b', '\x0c', '\x1b', '\x1f', '\x7f', '\x85', '\u200b', '\u200c', '\u200d',
           '\u200e', '\u2060', '\ufeff', '\u00ad', '\u061c', '\ue000', '\U000f0000', '\ufffd', '\u0378', '\U000e0001',
           '\u2028', '\u2029']
SPACES = [' ', '  ', '   ', '\t', '\n', '\r\n', ' \t ', '\u00a0', '\u3000', '\u2002', '\u202f', '\u1680', '\n\n\n']


def word(rng):
    w = ''.join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4)))
    r = rng.random()
    if r < 0.15:
        w = w.capitalize()
    elif r < 0.2:
        w = w.upper()
    return w


def fragment(rng):
    r = rng.random()
    if r < 0.30:
        return word(rng)
    if r < 0.42:
        return rng.choice(COMMON)
    table = rng.choice([ACCENTED, GREEK, CYRILLIC, CJK, ARABIC, INDIC, EMOJI, NUMBERS, PUNCT, SYMBOLS, PUNCT, NUMBERS])
    return rng.choice(table)


def sentence(rng, n_min=1, n_max=12):
    parts = []
    for _ in range(rng.randint(n_min, n_max)):
        parts.append(fragment(rng))
        parts.append(' ' if rng.random() < 0.85 else '')
    return ''.join(parts).strip()


def training_lines(seed, count):
    rng = random.Random(seed)
    return [sentence(rng, 4, 20) for _ in range(count)]


def invalid_utf8(rng):
    choices = [b'\xff', b'\xfe', b'\xc0\xaf', b'\xe0\x80\xaf', b'\xed\xa0\x80', b'\xf4\x90\x80\x80', b'\x80', b'\xbf',
               b'\xc3', b'\xe2\x82', b'\xf0\x9f\x98', b'\xf5\x80\x80\x80', b'\xc3\x28', b'\xe2\x28\xa1',
               bytes([rng.randrange(256) for _ in range(rng.randint(1, 6))])]
    return rng.choice(choices)


def test_strings(seed, count):
    """`count` byte strings (UTF-8, some deliberately invalid) covering the cases above."""
    rng = random.Random(seed)
    out = [b'', b' ', b'   ', b'\t\n', 'a'.encode(), '[MASK]'.encode(), '<mask>'.encode(), ('x' * 150).encode(),
           ('ab' * 60).encode(), ('é' * 101).encode(), ('東' * 130).encode(), ('😀' * 40).encode(),
           'Hello, world!'.encode(), 'hello   world'.encode(), ' leading and trailing '.encode()]
    while len(out) < count:
        kind = rng.random()
        if kind < 0.55:
            s = sentence(rng)
        elif kind < 0.70:
            parts = [sentence(rng, 1, 4)]
            for _ in range(rng.randint(1, 4)):
                parts.append(rng.choice(CONTROL + SPACES + SPECIAL_STRINGS))
                parts.append(sentence(rng, 0, 3))
            s = ''.join(parts)
        elif kind < 0.78:
            s = rng.choice(SPACES).join(word(rng) for _ in range(rng.randint(1, 5))) + rng.choice(SPACES)
        elif kind < 0.83:
            s = ''.join(rng.choice(SYLLABLES) for _ in range(rng.randint(30, 80)))  # very long words
        elif kind < 0.88:
            # Random code points from across the planes, assigned or not.
            cps = []
            for _ in range(rng.randint(1, 12)):
                cp = rng.choice([rng.randrange(0x20, 0x800), rng.randrange(0x800, 0xD800), rng.randrange(0xE000, 0x10000),
                                 rng.randrange(0x10000, 0x30000), rng.randrange(0xE0000, 0x110000)])
                cps.append(chr(cp))
            s = ''.join(cps)
        elif kind < 0.94:
            b = sentence(rng, 1, 5).encode()
            pos = rng.randint(0, len(b))
            out.append(b[:pos] + invalid_utf8(rng) + b[pos:])
            continue
        else:
            s = ''.join(rng.choice(SPECIAL_STRINGS + PUNCT + [' ']) for _ in range(rng.randint(1, 8)))
        out.append(s.encode('utf-8', 'surrogatepass'))
    return out[:count]
