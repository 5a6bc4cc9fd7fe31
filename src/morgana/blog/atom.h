#pragma once

// The blog's Atom feed (RFC 4287), written from plain descriptions of the
// blog and its newest articles, however they are stored.
//
// The feed's id is "urn:uuid:" + the text of .config/uuid, and each entry's
// id is the one Canopy gave it (canopy_entry_id), so that readers subscribed
// to a Canopy blog see no duplicates after the move. Links are absolute (root
// + path); Canopy's entry links were relative, which readers resolve against
// the feed's URL or not at all.

#include <span>
#include <string>
#include <string_view>

#include "morgana/core/time.h"

namespace morgana::blog {

struct FeedEntry {
  std::string_view path; // in the repository, e.g. "Posts/Hello"; the link is root + "/" + path
  std::string_view title;
  std::string_view author;
  std::string_view author_url; // empty: none
  std::string_view summary;    // the abstract; empty: none
  std::string_view content_html;
  std::span<const std::string> tags;
  WallClock::time_point published; // created
  WallClock::time_point updated;
};

struct Feed {
  std::string_view uuid; // .config/uuid
  std::string_view title;
  std::string_view root; // without a trailing '/'
  WallClock::time_point updated;
  std::span<const FeedEntry> entries; // written in this order (newest first, as readers expect)
};

// "urn:uuid:" + UUIDv5(name space = UUIDv5(DNS name space, `created` as
// "YYYY-MM-DDTHH:MM:SS-00:00"), name = `blog_uuid`): Canopy's entry id
// (canopy_article.ml; Ptime.to_rfc3339 writes "-00:00" when no offset is
// given). It depends on the creation second alone, so articles created by one
// commit share it; kept as is, since changing it would show Canopy's readers
// every entry again.
[[nodiscard]] std::string canopy_entry_id(WallClock::time_point created, std::string_view blog_uuid);

// The feed as an XML document in UTF-8. Everything from the descriptions is
// escaped (blog/escape.h); the content is the HTML as text, type="html".
[[nodiscard]] std::string write_atom(const Feed& feed);

} // namespace morgana::blog
