/*
 * The page Xen fills with its hypercall stubs (32 bytes each, hypercall n at
 * n * 32) when the image writes this page's address to the MSR that CPUID
 * leaf base+2 names. It lives in .text, so that the W^X page tables map it
 * executable; until Xen fills it (and on other hypervisors) every byte is
 * int3, so a call through it faults instead of running into something else.
 */

  .section .text.xen_hypercall_page, "ax", @progbits
  .p2align 12
  .globl pvh_xen_hypercall_page
pvh_xen_hypercall_page:
  .fill 4096, 1, 0xcc

  .section .note.GNU-stack, "", @progbits
