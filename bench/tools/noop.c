/*
 * The storm's target: a static binary with no libc that exits 0 at once, so an
 * exec costs only what the kernel (and any monitor) spends on it.
 * bench/meson.build builds it: cc -static -nostdlib -nostartfiles -fno-stack-protector -O2
 */
#if defined(__x86_64__)
__attribute__((naked, noreturn)) void _start(void)
{
	__asm__ volatile("mov $231, %eax\n\t" /* exit_group */
			 "xor %edi, %edi\n\t"
			 "syscall\n\t"
			 "hlt\n\t");
}
#elif defined(__aarch64__)
__attribute__((naked, noreturn)) void _start(void)
{
	__asm__ volatile("mov x8, #94\n\t" /* exit_group */
			 "mov x0, #0\n\t"
			 "svc #0\n\t"
			 "brk #0\n\t");
}
#else
#error "noop.c: add exit_group for this architecture"
#endif
