/* core/penalty.c - the shared failed-login table.  Slots are found by a hash
 * of the address; a collision just shares a counter, which errs towards a
 * longer delay, never a shorter one.  Entries older than an hour expire. */
#include "config-core.h"
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "penalty.h"

#define PENALTY_EXPIRE_SECS 3600

struct penalty_slot {
	_Atomic uint32_t failures;
	_Atomic int64_t last;
};

static struct penalty_slot *slots;

int pz_penalty_init(void)
{
	void *p;

	if (slots != NULL)
		return 0;
	p = mmap(NULL, sizeof(*slots) * PZ_PENALTY_SLOTS, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	slots = p;
	return 0;
}

/* slot_for - FNV-1a of the address picks the slot. */
static struct penalty_slot *slot_for(const char *addr)
{
	uint32_t h = 2166136261u;

	if (slots == NULL)
		return NULL;
	for (; *addr != '\0'; addr++)
		h = (h ^ (unsigned char)*addr) * 16777619u;
	return &slots[h % PZ_PENALTY_SLOTS];
}

uint64_t pz_penalty_delay_ms(const char *addr, uint64_t base_ms, uint64_t max_ms)
{
	struct penalty_slot *s = slot_for(addr);
	uint32_t n;
	uint64_t d = base_ms;

	if (s == NULL)
		return 0;
	n = atomic_load(&s->failures);
	if (n == 0 || time(NULL) - atomic_load(&s->last) > PENALTY_EXPIRE_SECS)
		return 0;
	while (--n > 0 && d < max_ms)
		d *= 2;
	return d < max_ms ? d : max_ms;
}

void pz_penalty_fail(const char *addr)
{
	struct penalty_slot *s = slot_for(addr);

	if (s == NULL)
		return;
	if (time(NULL) - atomic_load(&s->last) > PENALTY_EXPIRE_SECS)
		atomic_store(&s->failures, 0);
	atomic_fetch_add(&s->failures, 1);
	atomic_store(&s->last, (int64_t)time(NULL));
}

void pz_penalty_clear(const char *addr)
{
	struct penalty_slot *s = slot_for(addr);

	if (s != NULL)
		atomic_store(&s->failures, 0);
}
