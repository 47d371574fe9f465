# doc/policy.md "Several files": appending never narrows a rule; a condition
# the base rule does not have (or "syscalls": ["all"]) stays "every", with
# warning append-ignored (a code the spec does not list; see the report).
.valid,
(.diagnostics[] | [.file, .line, .column, .severity, .code] | join(" ")),
(.rules[] | [.name, .file, .line, .severity, .targets, .paths, .result, .syscalls > 300])
