/* tests/unit/test-privdrop.c - dropping root in a child process for good.
 * As root (as CI runs) the drop is done for real in a forked child. */
#include "config-core.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <grp.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "privdrop.h"

static void test_lookup(void **state)
{
	uid_t uid;
	gid_t gid;
	const char *err = NULL;

	assert_int_equal(pz_privdrop_lookup("nobody", &uid, &gid, &err), 0);
	assert_int_not_equal(uid, 0);
	assert_int_equal(pz_privdrop_lookup("root", &uid, &gid, &err), -1);
	assert_string_equal(err, "is root or in group root: connection processes must not run as root");
	assert_int_equal(pz_privdrop_lookup("no-such-user-pz", &uid, &gid, &err), -1);
	assert_string_equal(err, "no such system user");
}

/* child_check - the drop and every property that must hold after it;
 * the exit code says which check failed. */
static int child_check(uid_t uid, gid_t gid)
{
	const char *err;
	gid_t groups[8];
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (pz_privdrop(uid, gid, &err) < 0)
		return 10;
	if (getresuid(&r, &e, &s) < 0 || r != uid || e != uid || s != uid)
		return 11;
	if (getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid || sg != gid)
		return 12;
	if (getgroups(8, groups) != 1 || groups[0] != gid)
		return 13;
	if (setuid(0) == 0 || seteuid(0) == 0)
		return 14;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 15;
	return 0;
}

static void test_drop(void **state)
{
	pid_t pid;
	int status;
	uid_t uid = getuid() == 0 ? 65534 : getuid();
	gid_t gid = getuid() == 0 ? 65534 : getgid();

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(getuid() == 0 ? child_check(uid, gid) :
		      (pz_privdrop(uid, gid, &(const char *){ NULL }) == 0 &&
		       prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1) ? 0 : 20);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		print_error("child check %d failed\n", WEXITSTATUS(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_drop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
