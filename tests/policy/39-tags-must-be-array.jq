# spec, Rule object: `tags` is an array of strings (unlike `result`, which
# may be one string), so a bare string is wrong-type.
.valid,
(.diagnostics[] | [.line, .column, .severity, .code] | join(" "))
