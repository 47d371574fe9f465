# An appended key that is ignored (append-ignored) must still be checked:
# the spec makes each of these elements an error wherever it appears, so a
# typo must not pass silently just because the key is ignored.
.valid,
(.diagnostics[] | [.line, .column, .severity, .code] | join(" "))
