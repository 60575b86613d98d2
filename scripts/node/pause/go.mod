module local.invalid/vcm-pause

go 1.22
