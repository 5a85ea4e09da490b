# sdk/local.mk - the installed headers: the module ABI.
pzinclude_HEADERS = \
	sdk/include/poczta/auth.h \
	sdk/include/poczta/filter.h \
	sdk/include/poczta/host.h \
	sdk/include/poczta/module.h \
	sdk/include/poczta/poczta.h \
	sdk/include/poczta/protocol.h \
	sdk/include/poczta/search.h \
	sdk/include/poczta/storage.h \
	sdk/include/poczta/types.h
pkgconfig_DATA = sdk/poczta-sdk.pc
EXTRA_DIST += sdk/poczta-sdk.pc.in
