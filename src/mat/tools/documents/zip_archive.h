// Read-only access to a zip archive held in memory (docx, pptx, xlsx, zip), guarded against zip
// bombs: the entry count and the declared unpacked sizes are checked when the archive is opened,
// before anything is inflated, and inflating stops at a member's declared size, so a member that
// lies about its size is caught after at most that many bytes. Not thread-safe: one archive
// belongs to one conversion.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mat/tools/documents.h"

struct zip;

namespace mat::tools::documents {

class ZipArchive {
 public:
  struct Entry {
    std::string name;
    uint64_t size = 0;  // declared unpacked size
    bool is_directory = false;
  };

  // `bytes` must outlive the archive (libzip reads it in place). `file_name` names the file in
  // messages. Throws ToolError when the bytes are not a zip archive or exceed `limits`.
  ZipArchive(const std::string& bytes, const std::string& file_name, const DocumentLimits& limits);
  ~ZipArchive();
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  const std::vector<Entry>& entries() const { return entries_; }

  // The unpacked member `name` (matched case-insensitively, as OOXML part names are); nullopt
  // when there is none. Throws ToolError when it cannot be inflated or unpacks past its size.
  std::optional<std::string> read(std::string_view name) const;
  // Like read(), but a missing member is a ToolError saying the file is not a valid `kind`.
  std::string read_required(std::string_view name, std::string_view kind) const;

 private:
  struct Closer {
    void operator()(struct zip* archive) const;
  };
  std::string read_index(uint64_t index) const;

  std::string file_name_;
  uint64_t max_unpacked_ = 0;
  // Everything inflated so far: a part read many times (a slide listed 10,000 times) must not
  // get around the limit that the declared sizes were checked against.
  mutable uint64_t unpacked_ = 0;
  std::unique_ptr<struct zip, Closer> zip_;
  std::vector<Entry> entries_;
};

}  // namespace mat::tools::documents
