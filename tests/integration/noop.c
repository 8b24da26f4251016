/* noop: the cheapest exec target for the storm (linked statically). */
int main(void)
{
	return 0;
}
