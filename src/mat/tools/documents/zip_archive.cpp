#include "mat/tools/documents/zip_archive.h"

#include <zip.h>

#include <algorithm>
#include <array>

#include "mat/tools/tool.h"

namespace mat::tools::documents {
namespace {

std::string libzip_message(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string message = zip_error_strerror(&error);
  zip_error_fini(&error);
  return message;
}

// What the model should do instead: its code runs in the sandbox and can unpack a big archive
// member by member.
constexpr std::string_view kUnpackHint =
    "; unpack it in your code (Python's zipfile) and inspect the members one at a time";

}  // namespace

void ZipArchive::Closer::operator()(zip_t* archive) const {
  zip_discard(archive);
}

ZipArchive::ZipArchive(const std::string& bytes, const std::string& file_name,
                       const DocumentLimits& limits)
    : file_name_(file_name), max_unpacked_(limits.max_unpacked_bytes) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (source == nullptr) throw ToolError("cannot read '" + file_name + "': out of memory");
  zip_.reset(zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error));
  const std::string why = zip_ ? "" : zip_error_strerror(&error);
  zip_error_fini(&error);
  if (!zip_) {
    zip_source_free(source);
    throw ToolError("'" + file_name + "' is not a valid zip archive (" + why +
                    "); the file is corrupt or of another type");
  }
  const zip_int64_t count = zip_get_num_entries(zip_.get(), 0);
  if (count < 0 || static_cast<uint64_t>(count) > limits.max_zip_entries) {
    throw ToolError("'" + file_name + "' has " + std::to_string(count) +
                    " archive members, more than the limit of " +
                    std::to_string(limits.max_zip_entries) + std::string(kUnpackHint));
  }
  uint64_t declared = 0;
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t stat;
    if (zip_stat_index(zip_.get(), static_cast<zip_uint64_t>(i), 0, &stat) != 0 ||
        (stat.valid & ZIP_STAT_NAME) == 0 || (stat.valid & ZIP_STAT_SIZE) == 0) {
      throw ToolError("'" + file_name + "' is a corrupt zip archive (member " + std::to_string(i) +
                      " has no readable header)");
    }
    declared += stat.size;
    // Checked per member so the sum cannot wrap around.
    if (stat.size > limits.max_unpacked_bytes || declared > limits.max_unpacked_bytes) {
      throw ToolError("'" + file_name + "' unpacks to more than the limit of " +
                      std::to_string(limits.max_unpacked_bytes) + " bytes (member '" + stat.name +
                      "' alone declares " + std::to_string(stat.size) + ")" +
                      std::string(kUnpackHint));
    }
    std::string name = stat.name;
    const bool is_directory = !name.empty() && name.back() == '/';
    entries_.push_back({std::move(name), stat.size, is_directory});
  }
}

ZipArchive::~ZipArchive() = default;

std::optional<std::string> ZipArchive::read(std::string_view name) const {
  const zip_int64_t index = zip_name_locate(zip_.get(), std::string(name).c_str(), ZIP_FL_NOCASE);
  if (index < 0) return std::nullopt;
  return read_index(static_cast<uint64_t>(index));
}

std::string ZipArchive::read_required(std::string_view name, std::string_view kind) const {
  std::optional<std::string> member = read(name);
  if (!member) {
    throw ToolError("'" + file_name_ + "' is not a valid " + std::string(kind) +
                    " file: it has no '" + std::string(name) + "' part");
  }
  return *std::move(member);
}

std::string ZipArchive::read_index(uint64_t index) const {
  const Entry& entry = entries_.at(index);
  if (entry.size > max_unpacked_ - unpacked_) {
    throw ToolError("'" + file_name_ + "' refers to its parts so often that reading them unpacks " +
                    "more than the limit of " + std::to_string(max_unpacked_) + " bytes; refused");
  }
  unpacked_ += entry.size;
  zip_file_t* file = zip_fopen_index(zip_.get(), index, 0);
  if (file == nullptr) {
    const int code = zip_error_code_zip(zip_get_error(zip_.get()));
    const std::string why = code == ZIP_ER_NOPASSWD ? "it is encrypted" : libzip_message(code);
    throw ToolError("cannot unpack '" + entry.name + "' from '" + file_name_ + "': " + why);
  }
  std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> closer(file, zip_fclose);
  // The opening checks bounded the declared sizes; reading one byte past the declared size is
  // enough to catch a member that lies about it, without inflating the rest.
  std::string out;
  out.reserve(entry.size);
  std::array<char, 1 << 16> buffer;
  for (;;) {
    const uint64_t wanted = std::min<uint64_t>(buffer.size(), entry.size + 1 - out.size());
    const zip_int64_t got = zip_fread(file, buffer.data(), wanted);
    if (got < 0) {
      throw ToolError("cannot unpack '" + entry.name + "' from '" + file_name_ +
                      "': " + zip_file_strerror(file) + " (the archive is corrupt)");
    }
    if (got == 0) break;
    out.append(buffer.data(), static_cast<size_t>(got));
    if (out.size() > entry.size) {
      throw ToolError("'" + entry.name + "' in '" + file_name_ + "' unpacks to more than the " +
                      std::to_string(entry.size) +
                      " bytes it declares (a corrupt archive or a zip bomb); refused");
    }
  }
  return out;
}

}  // namespace mat::tools::documents
