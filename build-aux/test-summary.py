#!/usr/bin/env python3
"""Counts test cases in meson's test log and prints 'N passed, N failed, N skipped'.

A TAP test program holds many cases (one per g_test_add_func), and a case
skipped for a missing CPU feature or device must show as skipped, so cases
are counted from each program's TAP lines; a program without TAP output
counts as one case by meson's verdict.  A program that crashed before
reporting a failure counts one failure more, so a crash can never pass.
Exit status: 0 when nothing failed, 1 otherwise, 2 when the log is missing.
"""
import json
import re
import sys

TAP_LINE = re.compile(r'^(not ok|ok)\b[^#]*(#\s*(\w+))?', re.IGNORECASE)
FAILED_RESULTS = {'FAIL', 'ERROR', 'TIMEOUT', 'UNEXPECTEDPASS', 'INTERRUPT'}
# The lines that say why a program failed: a failed case, a GLib error or
# assertion, a sanitizer's report and the first frames of its stack.
REASON_LINE = re.compile(r'^(not ok|Bail out!)|\b(ERROR|CRITICAL|WARNING)\b|Sanitizer|runtime error|SUMMARY:'
                         r'|^\s+#[0-9] 0x')
MAX_REASON_LINES = 16


def count(log_path):
    passed = failed = skipped = 0
    failures = []
    with open(log_path, encoding='utf-8') as log:
        for line in log:
            if not line.strip():
                continue
            entry = json.loads(line)
            name, result = entry['name'], entry['result']
            p = f = s = 0
            for tap in (entry.get('stdout') or '').splitlines():
                match = TAP_LINE.match(tap)
                if not match:
                    continue
                directive = (match.group(3) or '').upper()
                if directive == 'SKIP':
                    s += 1
                elif directive == 'TODO':
                    continue
                elif match.group(1).lower() == 'ok':
                    p += 1
                else:
                    f += 1
            if p + f + s == 0:
                if result == 'SKIP':
                    s = 1
                elif result in FAILED_RESULTS:
                    f = 1
                else:
                    p = 1
            elif result in FAILED_RESULTS and f == 0:
                f = 1
            if f:
                output = (entry.get('stdout') or '') + '\n' + (entry.get('stderr') or '')
                reasons = [l for l in output.splitlines() if REASON_LINE.search(l)]
                failures.append((name, result, entry.get('duration'), reasons[:MAX_REASON_LINES]))
            passed, failed, skipped = passed + p, failed + f, skipped + s
    return passed, failed, skipped, failures


def main():
    if len(sys.argv) != 2:
        print('usage: test-summary.py BUILD_DIR/meson-logs/testlog.json', file=sys.stderr)
        return 2
    try:
        passed, failed, skipped, failures = count(sys.argv[1])
    except OSError as error:
        print(f'test-summary: cannot read the test log: {error}', file=sys.stderr)
        return 2
    # Last, so that a log cut to its tail still says why.
    for name, result, duration, reasons in failures:
        print(f'FAILED: {name} ({result} after {duration or 0:.1f} s)')
        for reason in reasons:
            print(f'    {reason.strip()[:300]}')
    print(f'{passed} passed, {failed} failed, {skipped} skipped')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
