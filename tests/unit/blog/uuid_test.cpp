#include "morgana/blog/uuid.h"

#include <gtest/gtest.h>

namespace morgana::blog {
namespace {

// Expected values computed with Python 3's uuid module, e.g.
//   python3 -c "import uuid; print(uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org'))"
TEST(BlogUuid, Version5MatchesPython) {
  EXPECT_EQ(uuid_v5(dns_namespace, "python.org").to_string(), "886313e1-3b8a-5372-9b90-0c9aee199e5d");
  EXPECT_EQ(uuid_v5(dns_namespace, "").to_string(), "4ebd0208-8328-5d69-8c44-ec50939c0967");
  // uuid.NAMESPACE_URL, to check that the name space's bytes are hashed, not assumed.
  Uuid url_namespace{{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}};
  EXPECT_EQ(uuid_v5(url_namespace, "http://example.com/").to_string(), "0a300ee9-f9e4-5697-a51a-efc7fafaba67");
}

TEST(BlogUuid, FormatsTheDnsNamespace) {
  EXPECT_EQ(dns_namespace.to_string(), "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
  EXPECT_EQ(Uuid{}.to_string(), "00000000-0000-0000-0000-000000000000");
}

TEST(BlogUuid, SetsVersionAndVariant) {
  auto uuid = uuid_v5(dns_namespace, "www.example.com");
  EXPECT_EQ(uuid.bytes[6] >> 4, 5);
  EXPECT_EQ(uuid.bytes[8] >> 6, 0b10);
  EXPECT_EQ(uuid, uuid_v5(dns_namespace, "www.example.com"));
  EXPECT_NE(uuid, uuid_v5(dns_namespace, "www.example.org"));
}

} // namespace
} // namespace morgana::blog
