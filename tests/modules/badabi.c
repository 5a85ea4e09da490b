/* tests/modules/badabi.c - modules the loader must refuse, one per rule.
 * Built several times with -DBAD_KIND=n; each build breaks one field. */
#include <poczta/poczta.h>

#pragma GCC diagnostic ignored "-Woverride-init"

static int bad_init(pz_module *self, const struct pz_host *h, const char **error_r)
{
	*error_r = "init of a refused module must never run";
	return -1;
}

#if BAD_KIND == 1
#define BAD_NAME badmajor
#define BAD_FIELDS .abi_major = PZ_ABI_MAJOR + 1
#elif BAD_KIND == 2
#define BAD_NAME badminor
#define BAD_FIELDS .abi_minor = PZ_ABI_MINOR + 1
#elif BAD_KIND == 3
#define BAD_NAME badsig
#define BAD_FIELDS .sizeof_time_t = sizeof(time_t) + 1
#elif BAD_KIND == 4
#define BAD_NAME badmagic
#define BAD_FIELDS .magic = 0xdeadbeefu
#elif BAD_KIND == 5
#define BAD_NAME needsdep
#define BAD_FIELDS .depends = needsdep_deps
static const char *const needsdep_deps[] = { "nosuchmodule", NULL };
#endif

#define STR_(x) #x
#define STR(x) STR_(x)
#define LTX_(n) n##_LTX_poczta_module
#define LTX(n) LTX_(n)

const struct pz_module_desc *LTX(BAD_NAME)(void);
const struct pz_module_desc *LTX(BAD_NAME)(void)
{
	static const struct pz_module_desc desc = {
		.magic = PZ_MODULE_MAGIC,
		.size = sizeof(struct pz_module_desc),
		.abi_major = PZ_ABI_MAJOR,
		.abi_minor = PZ_ABI_MINOR,
		.sizeof_pointer = sizeof(void *),
		.sizeof_long = sizeof(long),
		.sizeof_off_t = sizeof(off_t),
		.sizeof_time_t = sizeof(time_t),
		.kinds = PZ_KIND_FILTER,
		.name = STR(BAD_NAME),
		.version = "1.0",
		.init = bad_init,
		BAD_FIELDS,
	};
	return &desc;
}
