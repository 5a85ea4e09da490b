# packaging/local.mk
