# Only a name, %class, ?name, @list or `all` is a syscall element (spec,
# Rule object): strace's `none`, `/regex` and `trace=` are rejected where
# they stand (bad-value, like `,` and `!`). Message text is not pinned.
.valid,
(.diagnostics[] | [.line, .column, .severity, .code] | join(" "))
