#include "morgana/platform/pvh/acpi_tables.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

namespace morgana::pvh::acpi {
namespace {

using Table = std::vector<std::byte>;

// Physical memory made of a few byte arrays at chosen addresses.
class FakeMemory final : public Memory {
public:
  void place(std::uint64_t address, Table bytes) { m_regions[address] = std::move(bytes); }
  Table& at(std::uint64_t address) { return m_regions.at(address); }

  Bytes read(std::uint64_t address, std::size_t size) const override {
    auto region = m_regions.upper_bound(address);
    if (region == m_regions.begin()) return {};
    --region;
    auto offset = address - region->first;
    if (offset > region->second.size() || region->second.size() - offset < size) return {};
    return Bytes(region->second).subspan(offset, size);
  }

private:
  std::map<std::uint64_t, Table> m_regions;
};

void put_le(Table& bytes, std::size_t offset, std::uint64_t value, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) bytes[offset + i] = std::byte(static_cast<std::uint8_t>(value >> (8 * i)));
}

void append_le(Table& bytes, std::uint64_t value, std::size_t size) {
  bytes.resize(bytes.size() + size);
  put_le(bytes, bytes.size() - size, value, size);
}

// Sets the byte at `offset` so that bytes [0, length) sum to zero.
void fix_checksum(Table& bytes, std::size_t offset, std::size_t length) {
  bytes[offset] = std::byte{0};
  std::uint8_t sum = 0;
  for (std::size_t i = 0; i < length; ++i)
    sum = static_cast<std::uint8_t>(sum + std::to_integer<std::uint8_t>(bytes[i]));
  bytes[offset] = std::byte(static_cast<std::uint8_t>(-sum));
}

// 5.2.6: a 36-byte header (signature, length, revision, checksum, OEM fields) and `body`.
Table table(std::string_view signature, const Table& body) {
  Table bytes(36);
  for (std::size_t i = 0; i < 4; ++i) bytes[i] = std::byte(signature[i]);
  put_le(bytes, 4, 36 + body.size(), 4);
  bytes[8] = std::byte{2};
  for (std::size_t i = 0; i < 6; ++i) bytes[10 + i] = std::byte("MORGAN"[i]);
  bytes.insert(bytes.end(), body.begin(), body.end());
  fix_checksum(bytes, 9, bytes.size());
  return bytes;
}

// 5.2.5.3: revision 0 (20 bytes, RSDT only) or 2 (36 bytes, with the XSDT).
Table rsdp(std::uint32_t rsdt, std::uint64_t xsdt = 0, std::uint8_t revision = 0) {
  Table bytes(revision >= 2 ? 36 : 20);
  for (std::size_t i = 0; i < 8; ++i) bytes[i] = std::byte("RSD PTR "[i]);
  bytes[15] = std::byte{revision};
  put_le(bytes, 16, rsdt, 4);
  fix_checksum(bytes, 8, 20);
  if (revision >= 2) {
    put_le(bytes, 20, 36, 4);
    put_le(bytes, 24, xsdt, 8);
    fix_checksum(bytes, 32, 36);
  }
  return bytes;
}

// A root table whose entries point at `addresses`, 4 bytes each (RSDT) or 8 (XSDT).
Table root(std::string_view signature, const std::vector<std::uint64_t>& addresses, std::size_t entry_size) {
  Table body;
  for (auto address : addresses) append_le(body, address, entry_size);
  return table(signature, body);
}

// A FADT (5.2.9) long enough for X_DSDT, pointing at the DSDT both ways.
Table fadt(std::uint32_t dsdt, std::uint64_t x_dsdt) {
  Table body(276 - 36);
  put_le(body, 40 - 36, dsdt, 4);
  put_le(body, 140 - 36, x_dsdt, 8);
  return table("FACP", body);
}

constexpr std::uint64_t rsdp_at = 0x7000, rsdt_at = 0x8000, xsdt_at = 0x8100, apic_at = 0x9000, facp_at = 0x9400,
                        dsdt_at = 0xa000, high_apic_at = 0x1'2345'0000;

class AcpiTest : public ::testing::Test {
protected:
  void SetUp() override {
    memory.place(apic_at, table("APIC", Table(8)));
    memory.place(facp_at, fadt(dsdt_at, 0));
    memory.place(rsdt_at, root("RSDT", {apic_at, facp_at}, 4));
  }

  FakeMemory memory;
};

TEST_F(AcpiTest, ChecksumCoversEveryByte) {
  auto bytes = table("TEST", Table(10, std::byte{0x5a}));
  EXPECT_TRUE(checksum_ok(bytes));
  bytes[40] = std::byte{0x5b};
  EXPECT_FALSE(checksum_ok(bytes));
  EXPECT_TRUE(checksum_ok({}));
}

TEST_F(AcpiTest, LittleEndianReadsStopAtTheEnd) {
  Table bytes{std::byte{0x78}, std::byte{0x56}, std::byte{0x34}, std::byte{0x12}};
  EXPECT_EQ(le32(bytes, 0), 0x12345678u);
  EXPECT_EQ(le16(bytes, 2), 0x1234u);
  EXPECT_EQ(u8(bytes, 3), 0x12u);
  EXPECT_FALSE(le32(bytes, 1));
  EXPECT_FALSE(le16(bytes, 3));
  EXPECT_FALSE(u8(bytes, 4));
  EXPECT_FALSE(le64(bytes, 0));
  EXPECT_FALSE(le16(bytes, SIZE_MAX));
}

TEST_F(AcpiTest, RsdpAtTheHintIsUsed) {
  memory.place(rsdp_at, rsdp(rsdt_at));
  auto tables = Tables::locate(memory, rsdp_at);
  EXPECT_EQ(tables.rsdp(), rsdp_at);
  EXPECT_EQ(tables.find_table("APIC").size(), 44u);
  EXPECT_EQ(tables.find_table("FACP").size(), 276u);
  EXPECT_TRUE(tables.find_table("HPET").empty());
}

TEST_F(AcpiTest, RsdpWithABadChecksumIsIgnoredAndTheBiosAreaScanned) {
  memory.place(rsdp_at, rsdp(rsdt_at));
  memory.at(rsdp_at)[16] = std::byte{0x01}; // the RSDT address changed under the checksum
  auto nothing = Tables::locate(memory, rsdp_at);
  EXPECT_EQ(nothing.rsdp(), 0u);
  EXPECT_TRUE(nothing.find_table("APIC").empty());

  memory.place(0xf5a30, rsdp(rsdt_at)); // 16-byte aligned in 0xe0000..0xfffff
  auto tables = Tables::locate(memory, rsdp_at);
  EXPECT_EQ(tables.rsdp(), 0xf5a30u);
  EXPECT_FALSE(tables.find_table("APIC").empty());
}

TEST_F(AcpiTest, RsdpSignatureMustMatch) {
  auto bytes = rsdp(rsdt_at);
  bytes[0] = std::byte{'X'};
  fix_checksum(bytes, 8, 20);
  memory.place(rsdp_at, bytes);
  EXPECT_EQ(Tables::locate(memory, rsdp_at).rsdp(), 0u);
}

TEST_F(AcpiTest, XsdtIsPreferredWhenTheRsdpIsRevisionTwo) {
  memory.place(high_apic_at, table("APIC", Table(16)));
  memory.place(xsdt_at, root("XSDT", {facp_at, high_apic_at}, 8));
  memory.place(rsdp_at, rsdp(rsdt_at, xsdt_at, 2));
  auto tables = Tables::locate(memory, rsdp_at);
  EXPECT_EQ(tables.find_table("APIC").size(), 52u) << "the XSDT's table, above 4 GiB";

  // A broken extended checksum: back to the RSDT.
  memory.at(rsdp_at)[32] = std::byte(std::to_integer<std::uint8_t>(memory.at(rsdp_at)[32]) ^ 1);
  EXPECT_EQ(Tables::locate(memory, rsdp_at).find_table("APIC").size(), 44u);
}

TEST_F(AcpiTest, CorruptXsdtFallsBackToTheRsdt) {
  memory.place(xsdt_at, root("XSDT", {facp_at}, 8));
  memory.at(xsdt_at)[36] = std::byte{0x99};
  memory.place(rsdp_at, rsdp(rsdt_at, xsdt_at, 2));
  EXPECT_EQ(Tables::locate(memory, rsdp_at).find_table("APIC").size(), 44u);
}

TEST_F(AcpiTest, TablesWithBadChecksumsOrLengthsAreRejected) {
  memory.place(rsdp_at, rsdp(rsdt_at));
  memory.at(apic_at)[40] = std::byte{1};
  auto tables = Tables::locate(memory, rsdp_at);
  EXPECT_TRUE(tables.find_table("APIC").empty()) << "bad checksum";
  EXPECT_FALSE(tables.find_table("FACP").empty());

  // Length beyond the memory that holds the table: truncated.
  auto truncated = table("APIC", Table(8));
  put_le(truncated, 4, 200, 4);
  fix_checksum(truncated, 9, truncated.size());
  memory.place(apic_at, truncated);
  EXPECT_TRUE(tables.find_table("APIC").empty());

  // Length shorter than the header.
  auto stub = table("APIC", {});
  put_le(stub, 4, 20, 4);
  fix_checksum(stub, 9, stub.size());
  memory.place(apic_at, stub);
  EXPECT_TRUE(tables.find_table("APIC").empty());
}

TEST_F(AcpiTest, TruncatedRootTableIsRejected) {
  auto short_root = root("RSDT", {apic_at, facp_at}, 4);
  short_root.resize(40); // the length field still says 44
  memory.place(rsdt_at, short_root);
  memory.place(rsdp_at, rsdp(rsdt_at));
  EXPECT_TRUE(Tables::locate(memory, rsdp_at).find_table("APIC").empty());
}

// A DSDT whose AML holds QEMU's virtio-mmio _CRS: a 32-bit fixed memory range
// (6.4.3.4) then an extended interrupt descriptor (6.4.3.6).
Table dsdt_with_device(std::uint32_t base, std::uint32_t interrupt) {
  Table body{std::byte{0x5b}, std::byte{0x82}}; // some AML before
  append_le(body, 0x86, 1);
  append_le(body, 9, 2);
  append_le(body, 1, 1); // read-write
  append_le(body, base, 4);
  append_le(body, 0x200, 4);
  append_le(body, 0x89, 1);
  append_le(body, 6, 2);
  append_le(body, 0x0b, 1); // flags
  append_le(body, 1, 1);    // one interrupt
  append_le(body, interrupt, 4);
  append_le(body, 0x0079, 2); // end tag
  return table("DSDT", body);
}

TEST_F(AcpiTest, DsdtThroughTheFadtAndItsMemoryResourceInterrupt) {
  memory.place(dsdt_at, dsdt_with_device(0xfeb02e00, 47));
  memory.place(rsdp_at, rsdp(rsdt_at));
  auto tables = Tables::locate(memory, rsdp_at);
  EXPECT_FALSE(tables.find_table("DSDT").empty());
  EXPECT_EQ(tables.memory_resource_interrupt(0xfeb02e00), 47u);
  EXPECT_FALSE(tables.memory_resource_interrupt(0xfeb00000));

  // X_DSDT wins over DSDT when set.
  memory.place(0xb000, dsdt_with_device(0xfeb02e00, 30));
  memory.place(facp_at, fadt(dsdt_at, 0xb000));
  EXPECT_EQ(tables.memory_resource_interrupt(0xfeb02e00), 30u);
}

TEST_F(AcpiTest, MemoryResourceWithoutAnInterruptDescriptorGivesNothing) {
  auto dsdt = dsdt_with_device(0xfeb00000, 5);
  dsdt[36 + 2 + 12] = std::byte{0x87}; // not an extended interrupt descriptor
  fix_checksum(dsdt, 9, dsdt.size());
  memory.place(dsdt_at, dsdt);
  memory.place(rsdp_at, rsdp(rsdt_at));
  EXPECT_FALSE(Tables::locate(memory, rsdp_at).memory_resource_interrupt(0xfeb00000));
}

TEST_F(AcpiTest, WithoutAnRsdpEveryLookupIsEmpty) {
  Tables tables(memory);
  EXPECT_TRUE(tables.find_table("APIC").empty());
  EXPECT_TRUE(tables.find_table("DSDT").empty());
  EXPECT_FALSE(tables.memory_resource_interrupt(0xfeb00000));
}

// MADT entries (5.2.12): local APIC (type 0), I/O APIC (1), interrupt source override (2).
void local_apic(Table& body, std::uint8_t id) {
  append_le(body, 0, 1);
  append_le(body, 8, 1);
  append_le(body, id, 1);
  append_le(body, id, 1);
  append_le(body, 1, 4);
}
void io_apic(Table& body, std::uint8_t id, std::uint32_t address, std::uint32_t gsi_base) {
  append_le(body, 1, 1);
  append_le(body, 12, 1);
  append_le(body, id, 1);
  append_le(body, 0, 1);
  append_le(body, address, 4);
  append_le(body, gsi_base, 4);
}
void source_override(Table& body, std::uint8_t irq, std::uint32_t gsi, std::uint16_t flags) {
  append_le(body, 2, 1);
  append_le(body, 10, 1);
  append_le(body, 0, 1); // ISA
  append_le(body, irq, 1);
  append_le(body, gsi, 4);
  append_le(body, flags, 2);
}

Table madt(const Table& entries) {
  Table body(8); // local APIC address, flags
  put_le(body, 0, 0xfee00000, 4);
  body.insert(body.end(), entries.begin(), entries.end());
  return table("APIC", body);
}

TEST(MadtTest, IoApicsAndInterruptSourceOverrides) {
  Table entries;
  local_apic(entries, 0);
  io_apic(entries, 0, 0xfec00000, 0);
  source_override(entries, 0, 2, 0);
  source_override(entries, 9, 9, 0x000d);   // level, active high
  source_override(entries, 11, 11, 0x000f); // level, active low
  io_apic(entries, 1, 0xfec10000, 24);
  auto parsed = Madt::parse(madt(entries));

  ASSERT_EQ(parsed.io_apic_list().size(), 2u);
  EXPECT_EQ(parsed.io_apic_list()[0].address, 0xfec00000u);
  EXPECT_EQ(parsed.io_apic_list()[0].gsi_base, 0u);
  EXPECT_EQ(parsed.io_apic_list()[1].address, 0xfec10000u);
  EXPECT_EQ(parsed.io_apic_list()[1].gsi_base, 24u);

  ASSERT_EQ(parsed.override_list().size(), 3u);
  EXPECT_EQ(parsed.override_list()[0].irq, 0);
  EXPECT_EQ(parsed.override_list()[0].gsi, 2u);
  EXPECT_FALSE(parsed.override_list()[0].active_low);
  EXPECT_FALSE(parsed.override_list()[1].active_low);
  EXPECT_EQ(parsed.override_list()[2].irq, 11);
  EXPECT_TRUE(parsed.override_list()[2].active_low);
}

TEST(MadtTest, ZeroLengthEntryStopsTheWalk) {
  Table entries;
  io_apic(entries, 0, 0xfec00000, 0);
  append_le(entries, 1, 1);
  append_le(entries, 0, 1); // length 0: would loop forever
  io_apic(entries, 1, 0xfec10000, 24);
  auto parsed = Madt::parse(madt(entries));
  EXPECT_EQ(parsed.io_apic_list().size(), 1u);
}

TEST(MadtTest, TruncatedEntriesAreIgnored) {
  Table entries;
  io_apic(entries, 0, 0xfec00000, 0);
  io_apic(entries, 1, 0xfec10000, 24);
  auto bytes = madt(entries);
  bytes.resize(bytes.size() - 3); // the second I/O APIC loses its GSI base
  auto parsed = Madt::parse(bytes);
  ASSERT_EQ(parsed.io_apic_list().size(), 1u);
  EXPECT_EQ(parsed.io_apic_list()[0].address, 0xfec00000u);

  Table short_override;
  source_override(short_override, 5, 5, 0);
  short_override[1] = std::byte{6}; // claims 6 bytes: no GSI or flags inside
  EXPECT_TRUE(Madt::parse(madt(short_override)).override_list().empty());

  EXPECT_TRUE(Madt::parse({}).io_apic_list().empty());
  EXPECT_TRUE(Madt::parse(table("APIC", {})).io_apic_list().empty());
}

TEST(MadtTest, EntriesBeyondTheCapacityAreDropped) {
  Table entries;
  for (std::uint8_t i = 0; i < 12; ++i) io_apic(entries, i, 0xfec00000 + i * 0x1000u, i * 24u);
  for (std::uint8_t i = 0; i < 20; ++i) source_override(entries, i, i, 0);
  auto parsed = Madt::parse(madt(entries));
  EXPECT_EQ(parsed.io_apic_list().size(), Madt::max_io_apics);
  EXPECT_EQ(parsed.override_list().size(), Madt::max_overrides);
  EXPECT_EQ(parsed.io_apic_list().back().gsi_base, 7u * 24);
}

} // namespace
} // namespace morgana::pvh::acpi
