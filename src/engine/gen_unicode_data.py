#!/usr/bin/python3
"""Generates unicode_data.inc: the Unicode tables the tokenizers need, from Debian's unicode-data
package (/usr/share/unicode, UCD 15). Run: /usr/bin/python3 src/engine/gen_unicode_data.py > src/engine/unicode_data.inc

Hugging Face `tokenizers` does not use one Unicode version: its BERT normalizer and pre-tokenizer
ask the `unicode_categories` crate (UCD 8.0), its NFD/NFKC come from
`unicode-normalization-alignments` (UCD 11.0; its combining-mark test is older still, 9.0),
lower-casing, White_Space, is_numeric and the `regex` crate's \\w from Rust (current UCD) and
\\p{L}/\\p{N} from Oniguruma (UCD 14.0). Exact parity needs each table at its
version, so we cut the current UCD back with DerivedAge.txt and apply the few category changes
Unicode made since 8.0 to characters that already existed (the all-code-point tests in
tests/engine check every one of these tables against the real library)."""
import sys

UCD = '/usr/share/unicode/'
CATEGORIES = ['Cn', 'Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'Mn', 'Mc', 'Me', 'Nd', 'Nl', 'No', 'Pc', 'Pd', 'Ps', 'Pe',
              'Pi', 'Pf', 'Po', 'Sm', 'Sc', 'Sk', 'So', 'Zs', 'Zl', 'Zp', 'Cc', 'Cf', 'Cs', 'Co']
# Characters that existed in Unicode 8.0 with another General_Category than today's.
CATEGORY_AT_8_0 = {0x166D: 'Po', 0x111C9: 'Po', 0x1734: 'Mn', 0x1885: 'Lo', 0x1886: 'Lo', 0xA9BD: 'Mc'}
CATEGORY_VERSION = (8, 0)
NORMALIZATION_VERSION = (11, 0)
# is_combining_mark of unicode-normalization-alignments (StripAccents) is General_Category=M at
# Unicode 9.0, when U+1CF2 and U+1CF3 were still spacing marks.
MARK_VERSION = (9, 0)
MARKS_AT_9_0 = {0x1CF2, 0x1CF3}
NOT_MARKS_AT_9_0 = {0x111C9}
# Oniguruma's \p{L}, \p{N} in the library's build: Unicode 14.0.
REGEX_VERSION = (14, 0)


def parse_ranges(path):
    for line in open(UCD + path, encoding='utf-8'):
        line = line.split('#')[0].strip()
        if not line:
            continue
        fields = [f.strip() for f in line.split(';')]
        if '..' in fields[0]:
            a, b = fields[0].split('..')
            yield int(a, 16), int(b, 16), fields[1:]
        else:
            yield int(fields[0], 16), int(fields[0], 16), fields[1:]


age = {}
for a, b, f in parse_ranges('DerivedAge.txt'):
    v = tuple(int(x) for x in f[0].split('.'))
    for cp in range(a, b + 1):
        age[cp] = v

category = {}
ccc = {}
decomposition = {}  # cp -> (is_compat, [cps])
simple_lower = {}
lines = open(UCD + 'UnicodeData.txt', encoding='utf-8').read().splitlines()
i = 0
while i < len(lines):
    f = lines[i].split(';')
    cp = int(f[0], 16)
    if f[1].endswith('First>'):
        end = int(lines[i + 1].split(';')[0], 16)
        for c in range(cp, end + 1):
            category[c] = f[2]
        i += 2
        continue
    category[cp] = f[2]
    if f[3] != '0':
        ccc[cp] = int(f[3])
    if f[5]:
        parts = f[5].split()
        compat = parts[0].startswith('<')
        if compat:
            parts = parts[1:]
        decomposition[cp] = (compat, [int(x, 16) for x in parts])
    if f[13]:
        simple_lower[cp] = [int(f[13], 16)]
    i += 1

full_lower = dict(simple_lower)
for line in open(UCD + 'SpecialCasing.txt', encoding='utf-8'):
    line = line.split('#')[0].strip()
    if not line:
        continue
    f = [x.strip() for x in line.split(';')]
    if len(f) > 4 and f[4]:
        continue  # conditional mappings: Rust's char::to_lowercase ignores them
    full_lower[int(f[0], 16)] = [int(x, 16) for x in f[1].split()]

exclusions = set()
for a, b, f in parse_ranges('DerivedNormalizationProps.txt'):
    if f[0] == 'Full_Composition_Exclusion':
        exclusions.update(range(a, b + 1))


def at(version, cp):
    return age.get(cp, (99, 0)) <= version


def old_category(cp):
    if not at(CATEGORY_VERSION, cp):
        return 'Cn'
    return CATEGORY_AT_8_0.get(cp, category.get(cp, 'Cn'))


def new_category(cp):
    if not at(REGEX_VERSION, cp):
        return 'Cn'
    return category.get(cp, 'Cn')


def range_table(fn):
    out = []
    start, cur = 0, fn(0)
    for cp in range(1, 0x110000):
        v = fn(cp)
        if v != cur:
            out.append((start, cur))
            start, cur = cp, v
    out.append((start, cur))
    return out


def full_decompose(cp, compat):
    if cp not in decomposition or not at(NORMALIZATION_VERSION, cp):
        return [cp]
    is_compat, parts = decomposition[cp]
    if is_compat and not compat:
        return [cp]
    out = []
    for p in parts:
        out.extend(full_decompose(p, compat))
    return out


def emit_ranges(name, table, values):
    print(f'inline constexpr RangeValue {name}[] = {{')
    row = []
    for start, v in table:
        row.append(f'{{0x{start:X},{values(v)}}}')
        if len(row) == 8:
            print('  ' + ','.join(row) + ',')
            row = []
    if row:
        print('  ' + ','.join(row) + ',')
    print('};')


def emit_mapping(name, mapping):
    pool = []
    entries = []
    for cp in sorted(mapping):
        seq = mapping[cp]
        entries.append((cp, len(pool), len(seq)))
        pool.extend(seq)
    print(f'inline constexpr char32_t {name}Pool[] = {{')
    for j in range(0, len(pool), 12):
        print('  ' + ','.join(f'0x{c:X}' for c in pool[j:j + 12]) + ',')
    print('};')
    print(f'inline constexpr Mapping {name}[] = {{')
    for j in range(0, len(entries), 6):
        print('  ' + ','.join(f'{{0x{cp:X},{off},{n}}}' for cp, off, n in entries[j:j + 6]) + ',')
    print('};')


cat_index = {c: i for i, c in enumerate(CATEGORIES)}
print('// Generated by gen_unicode_data.py from UCD 15.0 (Debian unicode-data); do not edit.')
print('// Included by unicode.cpp only.')
emit_ranges('kCategoryV8', range_table(old_category), lambda v: cat_index[v])
emit_ranges('kCategoryRegex', range_table(new_category), lambda v: cat_index[v])
emit_ranges('kCategoryRust', range_table(lambda cp: category.get(cp, 'Cn')), lambda v: cat_index[v])
alphabetic = set()
for a, b, f in parse_ranges('DerivedCoreProperties.txt'):
    if f[0] == 'Alphabetic':
        alphabetic.update(range(a, b + 1))
emit_ranges('kAlphabetic', range_table(lambda cp: 1 if cp in alphabetic else 0), lambda v: v)
emit_ranges('kCombiningClass', range_table(lambda cp: ccc.get(cp, 0) if at(NORMALIZATION_VERSION, cp) else 0),
            lambda v: v)
canonical = {}
compat = {}
for cp in decomposition:
    if not at(NORMALIZATION_VERSION, cp):
        continue
    d = full_decompose(cp, False)
    if d != [cp]:
        canonical[cp] = d
    k = full_decompose(cp, True)
    if k != [cp] and k != d:
        compat[cp] = k
emit_mapping('kCanonicalDecomposition', canonical)
emit_mapping('kCompatibilityDecomposition', compat)
pairs = []
for cp, (is_compat, parts) in decomposition.items():
    if is_compat or len(parts) != 2 or cp in exclusions or not at(NORMALIZATION_VERSION, cp):
        continue
    pairs.append((parts[0], parts[1], cp))
pairs.sort()
print('inline constexpr Composition kCompositions[] = {')
for j in range(0, len(pairs), 6):
    print('  ' + ','.join(f'{{0x{a:X},0x{b:X},0x{c:X}}}' for a, b, c in pairs[j:j + 6]) + ',')
print('};')
mark_v9 = range_table(lambda cp: 1 if cp in MARKS_AT_9_0 or (cp not in NOT_MARKS_AT_9_0 and at(MARK_VERSION, cp)
                                                            and category.get(cp, 'Cn')[0] == 'M') else 0)
emit_ranges('kMarkV9', mark_v9, lambda v: v)
GRAPHEME = ['Other', 'CR', 'LF', 'Control', 'Extend', 'ZWJ', 'Regional_Indicator', 'Prepend', 'SpacingMark',
            'L', 'V', 'T', 'LV', 'LVT', 'Extended_Pictographic']
grapheme = {}
for a, b, f in parse_ranges('auxiliary/GraphemeBreakProperty.txt'):
    for cp in range(a, b + 1):
        grapheme[cp] = f[0]
for a, b, f in parse_ranges('emoji/emoji-data.txt'):
    if f[0] == 'Extended_Pictographic':
        for cp in range(a, b + 1):
            if grapheme.get(cp, 'Other') == 'Other':
                grapheme[cp] = 'Extended_Pictographic'
emit_ranges('kGraphemeBreak', range_table(lambda cp: grapheme.get(cp, 'Other')), lambda v: GRAPHEME.index(v))
emit_mapping('kLowercase', {cp: m for cp, m in full_lower.items() if m != [cp]})
