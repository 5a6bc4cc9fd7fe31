#pragma once

// netfront: a Xen paravirtual network device (xen/include/public/io/netif.h)
// with one queue pair and copying receive (request-rx-copy). Every buffer is
// a page granted to the back end once, at start: receive pages (one per
// receive ring slot) go back on the ring as soon as their frame is copied
// out, and transmit frames are copied into pre-granted transmit pages, so
// frames move without allocation or grant operations.
//
// Offloads, each only if allowed and (for tso) offered by the back end's
// feature-sg and feature-gso-tcpv4, as Linux's xen-netfront negotiates them:
// tx-csum sends checksum_partial frames as NETTXF_csum_blank (netback
// completes the checksum); tso sends a frame of up to 64 KiB over one page
// request each (NETTXF_more_data) with a GSO extra info entry after the
// first; rx-csum clears feature-no-csum-offload, so frames from dom0 may come
// NETRXF_csum_blank or NETRXF_data_validated; gro writes feature-sg and
// feature-gso-tcpv4, so netback may send a large frame over several receive
// pages with a GSO extra info entry, assembled into the reader's buffer.
//
// The back end is another domain: a response id out of range or not
// outstanding, a length past the page, a negative status, a frame split
// over several buffers without gro or over too many, a bad extra info entry,
// are each counted and dropped.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "morgana/core/format.h"
#include "morgana/core/mac_address.h"
#include "morgana/core/memory.h"
#include "morgana/core/result.h"
#include "morgana/platform/pvh/net_device.h"
#include "morgana/platform/pvh/virtqueue.h"
#include "morgana/platform/pvh/xen_grant_table.h"
#include "morgana/platform/pvh/xen_netif.h"
#include "morgana/platform/pvh/xen_ring.h"
#include "morgana/platform/pvh/xen_services.h"
#include "morgana/platform/pvh/xen_store.h"

namespace morgana::pvh::xen {

class Netfront final : public NetDevice {
public:
  static constexpr std::uint32_t receive_slots = FrontRing<netif::RxWire>::capacity();
  // One transmit page per ring slot: a frame takes a page per 4 KiB.
  static constexpr std::uint32_t transmit_slots = FrontRing<netif::TxWire>::capacity();
  static constexpr std::uint16_t mtu_value = 1500;
  // An Ethernet header and one 802.1Q tag around the IP packet.
  static constexpr std::size_t max_frame = 14 + 4 + mtu_value;
  static constexpr std::int64_t poll_interval_ns = 10'000'000;
  // The most receive slots one frame may hold: its data and a few extra info
  // entries (one per extra type); a longer chain is counted and dropped.
  static constexpr std::size_t max_receive_chain = netif::max_frame_slots + 4;

  // XenbusState values (xen/include/public/io/xenbus.h).
  static constexpr int state_initialising = 1, state_init_wait = 2, state_initialised = 3, state_connected = 4,
                       state_closing = 5, state_closed = 6;

  // Connects to the back end of `device` ("device/vif/0"): reads its path,
  // domain, MAC and features from xenstore, grants the rings and buffers,
  // publishes them with an event channel and the offloads of `allowed` it
  // can use, and waits until the back end is connected.
  // Takes back every grant; the pages are freed only if the back end let go
  // of all of them, else they stay allocated for good.
  ~Netfront() override;

  [[nodiscard]] static Result<std::unique_ptr<Netfront>> create(Store& store, GrantTable& grants, Services& services,
                                                                std::string_view device, NetOffloads allowed,
                                                                std::int64_t deadline_ns);

  [[nodiscard]] MacAddress mac() const override { return m_mac; }
  [[nodiscard]] std::uint16_t mtu() const override { return mtu_value; }
  // Through its event channel.
  [[nodiscard]] bool interrupts() const override { return true; }
  [[nodiscard]] std::uint32_t event_channel() const { return m_port; }

  [[nodiscard]] NetOffloads offloads() const override { return m_offloads; }
  [[nodiscard]] Result<std::size_t> read(std::span<std::byte> frame, FrameOffload& offload) override;
  // A frame with segment_size may be up to netif::max_frame_size (65535)
  // bytes long, a request's 16-bit size: max_tso_frame, which the stack keeps to.
  // Metadata for an offload not negotiated is refused (Errc::unsupported).
  [[nodiscard]] Result<void> write(std::span<const std::byte> frame, const FrameOffload& offload) override;
  // Clears the event, publishes refilled receive buffers, and if no frame
  // waits asks the back end to notify at the next one.
  [[nodiscard]] bool input_pending() override;

  void format(FormatSink& sink) const override;

private:
  struct Memory {
    virtio::DmaMemory rings;          // the transmit ring's page, then the receive ring's
    virtio::DmaMemory receive_pages;  // one per receive slot
    virtio::DmaMemory transmit_pages; // one per transmit slot
  };
  // The slots of the frame being taken off the receive ring, which keep their
  // buffers until the whole frame is there.
  struct ReceiveChain {
    std::uint16_t first = 0; // the buffer (ring slot) of its first held slot
    std::size_t slots = 0;   // held: data and extra info
    netif::RxResponse data[max_receive_chain];
    std::uint16_t data_ids[max_receive_chain]; // the buffer of each
    std::size_t data_count = 0;
    std::size_t extra_count = 0;
    std::uint16_t gso_size = 0;
    bool started = false;
    bool expect_extra = false; // the next slot is a netif_extra_info
    bool more = false;         // the last data slot had NETRXF_more_data
    bool bad = false;          // counted already; dropped once whole
    bool discarding = false;   // too long to hold: each slot goes back as it comes
  };
  Netfront(Services& services, GrantTable& grants, Memory memory);
  friend struct morgana::NothrowNew;

  [[nodiscard]] Result<void> grant_all(std::uint16_t backend);
  [[nodiscard]] Result<void> publish(Store& store, std::string_view device, std::int64_t deadline_ns);
  void post_receive(std::uint16_t id);
  void recycle_receive(std::uint16_t id);
  void push_receive();
  [[nodiscard]] bool gather_receive();
  void note_extra(const netif::ExtraInfo& extra);
  void release_receive_chain();
  [[nodiscard]] Result<std::size_t> copy_receive_chain(std::span<std::byte> frame, FrameOffload& offload);
  void reclaim_transmit();
  [[nodiscard]] std::byte* receive_page(std::uint16_t id) const {
    return m_memory.receive_pages.data() + std::size_t{id} * page_size;
  }

  Services& m_services;
  GrantTable& m_grants;
  Memory m_memory;
  FrontRing<netif::TxWire> m_transmit;
  FrontRing<netif::RxWire> m_receive;
  std::uint16_t m_backend = 0;
  std::uint32_t m_port = 0;
  MacAddress m_mac;
  // 0 (one of Xen's reserved references): not granted.
  GrantRef m_ring_refs[2] = {};
  GrantRef m_receive_refs[receive_slots] = {};
  GrantRef m_transmit_refs[transmit_slots] = {};
  NetOffloads m_offloads;
  // Receive buffer i is always the request at ring slot i: the ring is kept
  // full and answered in order, so each response returns the buffer of its
  // own slot (as in Linux's netfront), whatever id the back end wrote.
  std::uint32_t m_receive_consumed = 0;
  bool m_transmit_in_flight[transmit_slots] = {}; // with the back end
  std::uint16_t m_free_transmit[transmit_slots] = {};
  std::size_t m_free_transmit_count = 0;
  std::size_t m_receive_unpushed = 0; // receive requests put since the last push
  ReceiveChain m_chain;
};

} // namespace morgana::pvh::xen
