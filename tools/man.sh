#!/bin/sh
# tools/man.sh MTLC: the man page mtlc(1), in roff, on stdout, made from
# `MTLC --help` (main.c's help table) and `MTLC --version`, so that it
# says what the program says. `make install` runs it.
set -eu
mtlc=${1:-build/mtlc}
version=$("$mtlc" --version | sed 's/^mtlc //')
cat <<HEAD
.TH MTLC 1 "" "mtlc $version" "User Commands"
.ad l
.nh
.SH NAME
mtlc \\- a compiler for multi-task neural networks
.SH SYNOPSIS
.B mtlc
.I command
[\\fIoptions\\fR] \\fISPEC\\fR
.SH DESCRIPTION
mtlc reads a spec file that declares the tasks of a multi-task model, the
layers they share or copy, their losses and the training recipe; checks it,
differentiates it, and trains it, or generates standalone C or LLVM code for
it. The language is documented in specs/README.md of its source.
HEAD
# The help: "  COMMAND ..." starts a command (continued by lines of 11
# spaces and '['); lines of 18 spaces are its text; the rest are sections.
"$mtlc" --help | awk '
  function esc(s) { gsub(/\\/, "\\e", s); gsub(/-/, "\\-", s); return s }
  function strip(s) { sub(/^ +/, "", s); return s }
  function flush() { if (syn != "") { print ".TP"; print "\\fB" esc(syn) "\\fR"; syn = "" } }
  BEGIN { text = sprintf("%18s", ""); more = sprintf("%11s", "") "[" }
  /^usage:/ { next }
  /^commands:/ { print ".SH COMMANDS"; next }
  /^options:/ { flush(); print ".SH OPTIONS"; opts = 1; next }
  index($0, text) == 1 { flush(); t = strip($0); if (t ~ /^-/) print ".br"; print esc(t); next }
  index($0, more) == 1 { syn = syn " " strip($0); next }
  opts && /^  -/ { n = split(strip($0), a, /   */); print ".TP"; print "\\fB" esc(a[1]) "\\fR";
                   d = ""; for (i = 2; i <= n; i++) d = d (i > 2 ? " " : "") a[i]; print esc(d); next }
  /^  [a-z]/ { flush(); t = strip($0); n = split(t, a, /   */); syn = a[1];
               if (n > 1) { d = ""; for (i = 2; i <= n; i++) d = d (i > 2 ? " " : "") a[i];
                            flush(); print esc(d) }; next }
  /^$/ { flush(); next }
  { flush(); if (!exit_seen) { print ".SH EXIT STATUS"; exit_seen = 1 }; print esc($0) }
'
cat <<TAIL
.SH ENVIRONMENT
.TP
.B CC
the C compiler of \\fB\\-\\-backend c\\fR (default cc)
.TP
.B MTLC_RUNTIME
the folder of the runtime's headers (default: beside mtlc, \\fI../include/mtlc\\fR)
.TP
.B MTLC_LLVM_LIB
the LLVM back end (default: \\fI../lib/mtlc/libmtlc\\-llvm.so\\fR beside mtlc)
.SH SEE ALSO
.BR pkg\\-config (1)
for \\fBmtlrt\\fR, the runtime library that generated trainers link.
TAIL
