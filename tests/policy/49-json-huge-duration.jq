# min_duration may be up to 2^64-1 ns by the duration grammar; --json must
# not print such a value as a negative number (either it is reported as a
# bad-duration, or min_duration_ns is the positive value).
[.rules[] | .min_duration_ns >= 0] | all
