/* tests/modules/nodesc.c - a shared object that is not a poczta module. */
int nodesc_something(void);
int nodesc_something(void)
{
	return 42;
}
