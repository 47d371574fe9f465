# doc/policy.md "Several files": two rules of one name in one file are
# duplicate-name "unless the second one appends" (the spec's "append extends
# the rule ... from an EARLIER file" does not say this; see the report).
.valid,
.diagnostics,
(.rules[] | [.name, .line, .syscalls, .tags])
