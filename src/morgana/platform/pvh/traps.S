/*
 * Entry points the IDT points at.
 *
 * Vectors 0-31 (CPU exceptions) push a uniform frame (error code, vector, the
 * fifteen general registers) and call pvh_trap(frame), which prints it and
 * stops the image; they never return. pvh_trap_stubs is the table of their
 * addresses, 16 bytes apart.
 *
 * Interrupts arrive only while the CPU halts inside platform::yield, on the
 * halting code's stack; their handlers touch one register and return.
 */

  .text
  .code64

.macro trap_stub vector
  .p2align 4
  .if (\vector == 8) || (\vector == 10) || (\vector == 11) || (\vector == 12) || (\vector == 13) || (\vector == 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
  /* The CPU pushed an error code. */
  .else
  pushq $0
  .endif
  pushq $\vector
  jmp trap_common
.endm

  .p2align 4
  .globl pvh_trap_stubs
pvh_trap_stubs:
  .irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  trap_stub \vector
  .endr

trap_common:
  push %rax
  push %rbx
  push %rcx
  push %rdx
  push %rsi
  push %rdi
  push %rbp
  push %r8
  push %r9
  push %r10
  push %r11
  push %r12
  push %r13
  push %r14
  push %r15
  cld
  mov %rsp, %rdi
  and $-16, %rsp
  call pvh_trap
1:
  cli
  hlt
  jmp 1b

/* An interrupt the local APIC delivered (its timer, later devices): note it,
 * acknowledge it, return to the halted code. */
  .p2align 4
  .globl pvh_interrupt_lapic
pvh_interrupt_lapic:
  push %rax
  movb $1, pvh_interrupt_seen(%rip)
  mov pvh_lapic_eoi(%rip), %rax
  test %rax, %rax
  jz 1f
  movl $0, (%rax)
1:
  pop %rax
  iretq

/* Xen's event channel callback (HVM_PARAM_CALLBACK_IRQ, type vector): not
 * through the local APIC, so no EOI. Xen raises it again as long as vCPU 0's
 * evtchn_upcall_pending is set, and sets that only when a port's bit in
 * evtchn_pending_sel was clear: clear both, in that order, so that the next
 * event raises it again. The ports' own pending bits stay for the devices. */
  .p2align 4
  .globl pvh_interrupt_xen
pvh_interrupt_xen:
  push %rax
  movb $1, pvh_interrupt_seen(%rip)
  mov pvh_xen_vcpu_info(%rip), %rax
  test %rax, %rax
  jz 1f
  movb $0, (%rax)
  lock andq $0, 8(%rax)
1:
  pop %rax
  iretq

/* Spurious and masked legacy vectors: nothing to acknowledge. */
  .p2align 4
  .globl pvh_interrupt_ignore
pvh_interrupt_ignore:
  iretq

  .bss
  .p2align 3
  .globl pvh_lapic_eoi
pvh_lapic_eoi:
  .skip 8
  .globl pvh_xen_vcpu_info
pvh_xen_vcpu_info:
  .skip 8
  .globl pvh_interrupt_seen
pvh_interrupt_seen:
  .skip 1

  .section .note.GNU-stack, "", @progbits
