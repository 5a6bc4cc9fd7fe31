/*
 * PVH entry. Every PVH loader (QEMU -kernel on microvm and pc, Xen, Firecracker)
 * finds the XEN_ELFNOTE_PHYS32_ENTRY note, loads the image at 1 MiB and enters
 * pvh_start32 in 32-bit protected mode without paging, with %ebx holding the
 * physical address of the hvm_start_info block. This code clears .bss, sets up
 * a stack and identity-mapped boot page tables for the first 4 GiB, enables
 * long mode, SSE and write protection, points the FS base at the stack
 * protector's block, and calls pvh_main(start_info). The
 * C++ side then replaces the page tables with W^X ones.
 */

#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_TS (1 << 3)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER 0xc0000080
#define MSR_FS_BASE 0xc0000100
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)
#define CPUID_EXT_NX (1 << 20)

#define BOOT_CODE64 0x08
#define BOOT_DATA 0x10

/* QEMU reads the entry address as 8 bytes; the note itself is 4-byte aligned. */
  .section .note.Xen, "a", @note
  .p2align 2
  .long 4
  .long 8
  .long XEN_ELFNOTE_PHYS32_ENTRY
  .asciz "Xen"
  .p2align 2
  .quad pvh_start32

  .section .text.boot, "ax", @progbits
  .code32
  .globl pvh_start32
  .type pvh_start32, @function
pvh_start32:
  cli
  cld
  mov %ebx, %esi

  mov $pvh_bss_start, %edi
  mov $pvh_bss_end, %ecx
  sub %edi, %ecx
  xor %eax, %eax
  rep stosb

  mov %esi, pvh_start_info_address
  mov $pvh_stack_top, %esp

  /* PD entries: 2048 2-MiB pages covering 0..4 GiB, present + writable + large. */
  mov $boot_pd, %edi
  xor %ecx, %ecx
1:
  mov %ecx, %eax
  shl $21, %eax
  or $0x83, %eax
  mov %eax, (%edi, %ecx, 8)
  mov %ecx, %eax
  shr $11, %eax
  mov %eax, 4(%edi, %ecx, 8)
  inc %ecx
  cmp $2048, %ecx
  jne 1b

  /* Four PDPT entries, one per PD page; one PML4 entry. */
  mov $boot_pdpt, %edi
  mov $boot_pd, %eax
  or $0x3, %eax
  xor %ecx, %ecx
2:
  mov %eax, (%edi, %ecx, 8)
  add $4096, %eax
  inc %ecx
  cmp $4, %ecx
  jne 2b
  mov $boot_pdpt, %eax
  or $0x3, %eax
  mov %eax, boot_pml4

  mov $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
  mov %eax, %cr4
  mov $boot_pml4, %eax
  mov %eax, %cr3

  /* Long mode; no-execute pages when the CPU has them. */
  mov $0x80000001, %eax
  cpuid
  xor %edi, %edi
  test $CPUID_EXT_NX, %edx
  jz 3f
  mov $EFER_NXE, %edi
  movb $1, pvh_nx_enabled
3:
  mov $MSR_EFER, %ecx
  rdmsr
  or $EFER_LME, %eax
  or %edi, %eax
  wrmsr

  mov %cr0, %eax
  and $~(CR0_EM | CR0_TS), %eax
  or $(CR0_PE | CR0_MP | CR0_WP | CR0_PG), %eax
  mov %eax, %cr0

  lgdt boot_gdt_pointer
  ljmp $BOOT_CODE64, $pvh_start64

  .code64
pvh_start64:
  mov $BOOT_DATA, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  xor %eax, %eax
  mov %ax, %fs
  mov %ax, %gs
  /* The FS base (after loading %fs, which would reset it): the stack protector's block. */
  mov $pvh_thread_block, %eax
  xor %edx, %edx
  mov $MSR_FS_BASE, %ecx
  wrmsr
  fninit
  mov $pvh_stack_top, %rsp
  xor %ebp, %ebp
  mov pvh_start_info_address, %edi
  call pvh_main
4:
  cli
  hlt
  jmp 4b
  .size pvh_start32, . - pvh_start32

  .section .rodata.boot, "a", @progbits
  .p2align 3
boot_gdt:
  .quad 0
  .quad 0x00af9a000000ffff /* 0x08: 64-bit code, ring 0 */
  .quad 0x00cf92000000ffff /* 0x10: data, ring 0 */
boot_gdt_end:
boot_gdt_pointer:
  .word boot_gdt_end - boot_gdt - 1
  .long boot_gdt

  .section .bss.boot, "aw", @nobits
  .p2align 12
boot_pml4:
  .skip 4096
boot_pdpt:
  .skip 4096
boot_pd:
  .skip 4 * 4096

  .globl pvh_start_info_address
  .p2align 3
pvh_start_info_address:
  .skip 8
  .globl pvh_nx_enabled
pvh_nx_enabled:
  .skip 1

  .section .note.GNU-stack, "", @progbits
