# Turn zope.testrunner's totals into one plain "N passed, N failed" line.
/^Total: [0-9]+ tests/ { total = $2; failures = $4; errors = $6 }
/^  Ran [0-9]+ tests with/ && !seen_total { ran += $2; failed += $5 + $7 }
END {
    if (total != "") { ran = total; failed = failures + errors }
    printf "%d passed, %d failed\n", ran - failed, failed
}
