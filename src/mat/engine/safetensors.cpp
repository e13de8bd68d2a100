#include "mat/engine/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "mat/core/error.h"
#include "mat/core/json.h"
#include "mat/core/unique_fd.h"

namespace mat::engine {
namespace {

// Headers larger than this are refused before parsing (the reference library's own limit).
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

struct DTypeEntry {
  DType dtype;
  std::string_view name;
  std::size_t size;
};
constexpr std::array<DTypeEntry, 10> kDTypes{{{DType::kF64, "F64", 8},
                                              {DType::kF32, "F32", 4},
                                              {DType::kF16, "F16", 2},
                                              {DType::kBF16, "BF16", 2},
                                              {DType::kI64, "I64", 8},
                                              {DType::kI32, "I32", 4},
                                              {DType::kI16, "I16", 2},
                                              {DType::kI8, "I8", 1},
                                              {DType::kU8, "U8", 1},
                                              {DType::kBool, "BOOL", 1}}};

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw core::Error("safetensors file '" + name + "': " + what +
                    "; the file is corrupt or truncated: export or download it again");
}

std::uint16_t load_u16(const std::byte* p) {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

std::string_view dtype_name(DType dtype) {
  for (const auto& e : kDTypes)
    if (e.dtype == dtype) return e.name;
  return "?";
}

std::size_t dtype_size(DType dtype) {
  for (const auto& e : kDTypes)
    if (e.dtype == dtype) return e.size;
  return 0;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& e : kDTypes)
    if (e.name == name) return e.dtype;
  return std::nullopt;
}

std::int64_t TensorInfo::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);  // inf / NaN
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;  // signed zero
  } else {
    // Subnormal: normalise the mantissa.
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

float bf16_to_f32(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

ParsedHeader parse_safetensors_header(std::string_view header, std::size_t data_size,
                                      const std::string& name) {
  std::optional<core::Json> parsed = core::parse_untrusted_json(header, 8);
  if (!parsed) fail(name, "the header is not valid JSON");
  if (!parsed->is_object()) fail(name, "the header is not a JSON object");

  ParsedHeader out;
  for (auto it = parsed->begin(); it != parsed->end(); ++it) {
    const std::string& key = it.key();
    const core::Json& value = it.value();
    if (key == "__metadata__") {
      if (!value.is_object()) fail(name, "__metadata__ is not an object");
      for (auto m = value.begin(); m != value.end(); ++m) {
        if (!m.value().is_string())
          fail(name, "__metadata__ value '" + m.key() + "' is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + key + "'";
    if (!value.is_object()) fail(name, where + " is not described by an object");
    const auto dtype_it = value.find("dtype");
    const auto shape_it = value.find("shape");
    const auto offsets_it = value.find("data_offsets");
    if (dtype_it == value.end() || shape_it == value.end() || offsets_it == value.end()) {
      fail(name, where + " lacks one of dtype, shape, data_offsets");
    }
    if (!dtype_it->is_string()) fail(name, where + " has a dtype that is not a string");
    const std::optional<DType> dtype = dtype_from_name(dtype_it->get<std::string>());
    if (!dtype)
      fail(name, where + " has an unsupported dtype '" + dtype_it->get<std::string>() + "'");

    TensorInfo info;
    info.name = key;
    info.dtype = *dtype;
    if (!shape_it->is_array()) fail(name, where + " has a shape that is not an array");
    std::uint64_t numel = 1;
    for (const core::Json& d : *shape_it) {
      if (!d.is_number_unsigned()) fail(name, where + " has a negative or non-integer dimension");
      const std::uint64_t dim = d.get<std::uint64_t>();
      if (dim > static_cast<std::uint64_t>(INT64_MAX) ||
          __builtin_mul_overflow(numel, dim, &numel)) {
        fail(name, where + " has a shape whose element count overflows");
      }
      info.shape.push_back(static_cast<std::int64_t>(dim));
    }
    if (!offsets_it->is_array() || offsets_it->size() != 2 ||
        !(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned()) {
      fail(name, where + " has data_offsets that are not two non-negative integers");
    }
    const std::uint64_t begin = (*offsets_it)[0].get<std::uint64_t>();
    const std::uint64_t end = (*offsets_it)[1].get<std::uint64_t>();
    if (begin > end) fail(name, where + " has data_offsets that end before they begin");
    if (end > data_size) {
      fail(name, where + " ends at byte " + std::to_string(end) +
                     " of the data section, which has only " + std::to_string(data_size) +
                     " bytes");
    }
    std::uint64_t expected = 0;
    if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(dtype_size(*dtype)), &expected) ||
        expected != end - begin) {
      fail(name, where + " has " + std::to_string(end - begin) +
                     " bytes but its dtype and shape need " + std::to_string(numel) + " x " +
                     std::to_string(dtype_size(*dtype)));
    }
    info.begin = static_cast<std::size_t>(begin);
    info.end = static_cast<std::size_t>(end);
    out.tensors.push_back(std::move(info));
  }

  // The tensors must tile the data section: sorted by offset, each starts where the last ended.
  std::sort(out.tensors.begin(), out.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::size_t cursor = 0;
  for (std::size_t i = 0; i < out.tensors.size(); ++i) {
    const TensorInfo& t = out.tensors[i];
    if (t.begin < cursor) {
      fail(name, "tensor '" + t.name + "' overlaps tensor '" + out.tensors[i - 1].name +
                     "' (bytes " + std::to_string(t.begin) + ".." + std::to_string(cursor) + ")");
    }
    if (t.begin > cursor) {
      fail(name, "bytes " + std::to_string(cursor) + ".." + std::to_string(t.begin) +
                     " of the data section belong to no tensor");
    }
    cursor = t.end;
  }
  if (cursor != data_size) {
    fail(name, "the data section has " + std::to_string(data_size) +
                   " bytes but the tensors cover " + std::to_string(cursor));
  }
  return out;
}

struct SafetensorsFile::Impl {
  std::filesystem::path path;
  void* map = nullptr;
  std::size_t map_size = 0;
  const std::byte* data = nullptr;  // start of the data section
  ParsedHeader header;
  std::map<std::string, std::size_t, std::less<>> index;

  ~Impl() {
    if (map != nullptr) ::munmap(map, map_size);
  }
};

SafetensorsFile::SafetensorsFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  const std::string name = path.string();
  core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    throw core::Error("cannot open safetensors file '" + name + "': " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw core::Error("safetensors file '" + name + "' is not a regular file");
  }
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  if (file_size < 8)
    fail(name,
         "it has " + std::to_string(file_size) + " bytes, fewer than the 8-byte header length");

  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->map_size = static_cast<std::size_t>(file_size);
  impl->map = ::mmap(nullptr, impl->map_size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (impl->map == MAP_FAILED) {
    impl->map = nullptr;
    throw core::Error("cannot map safetensors file '" + name + "': " + std::strerror(errno));
  }
  const auto* base = static_cast<const std::byte*>(impl->map);
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i)
    header_size = (header_size << 8) | std::to_integer<std::uint64_t>(base[i]);
  if (header_size > kMaxHeaderBytes) {
    fail(name, "its header length " + std::to_string(header_size) + " exceeds the 100 MB limit");
  }
  if (header_size > file_size - 8) {
    fail(name, "its header claims " + std::to_string(header_size) + " bytes but only " +
                   std::to_string(file_size - 8) + " follow");
  }
  const std::string_view header(reinterpret_cast<const char*>(base + 8), header_size);
  impl->data = base + 8 + header_size;
  impl->header = parse_safetensors_header(header, file_size - 8 - header_size, name);
  for (std::size_t i = 0; i < impl->header.tensors.size(); ++i) {
    impl->index.emplace(impl->header.tensors[i].name, i);
  }
  return SafetensorsFile(std::move(impl));
}

const std::filesystem::path& SafetensorsFile::path() const {
  return impl_->path;
}
const std::vector<TensorInfo>& SafetensorsFile::tensors() const {
  return impl_->header.tensors;
}
const std::map<std::string, std::string>& SafetensorsFile::metadata() const {
  return impl_->header.metadata;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  const auto it = impl_->index.find(name);
  return it == impl_->index.end() ? nullptr : &impl_->header.tensors[it->second];
}

const TensorInfo& SafetensorsFile::at(std::string_view name) const {
  const TensorInfo* t = find(name);
  if (t == nullptr) {
    throw core::Error("safetensors file '" + impl_->path.string() + "' has no tensor '" +
                      std::string(name) + "'");
  }
  return *t;
}

std::span<const std::byte> SafetensorsFile::bytes(const TensorInfo& tensor) const {
  return {impl_->data + tensor.begin, tensor.nbytes()};
}

void SafetensorsFile::release(const TensorInfo& tensor) const {
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(impl_->data + tensor.begin) & ~(page - 1);
  const auto end = reinterpret_cast<std::uintptr_t>(impl_->data + tensor.end);
  // Advice only: a failure leaves the pages mapped, which costs memory, not correctness.
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

std::vector<float> SafetensorsFile::to_f32(std::string_view name) const {
  const TensorInfo& t = at(name);
  const std::span<const std::byte> raw = bytes(t);
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  switch (t.dtype) {
    case DType::kF32:
      if (!out.empty()) std::memcpy(out.data(), raw.data(), raw.size());
      break;
    case DType::kF16:
      for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = f16_to_f32(load_u16(raw.data() + 2 * i));
      break;
    case DType::kBF16:
      for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = bf16_to_f32(load_u16(raw.data() + 2 * i));
      break;
    default:
      throw core::Error("tensor '" + t.name + "' in '" + impl_->path.string() + "' is " +
                        std::string(dtype_name(t.dtype)) +
                        ", not a floating-point type (F32, F16, BF16)");
  }
  return out;
}

std::vector<std::int64_t> SafetensorsFile::to_i64(std::string_view name) const {
  const TensorInfo& t = at(name);
  const std::span<const std::byte> raw = bytes(t);
  std::vector<std::int64_t> out(static_cast<std::size_t>(t.numel()));
  if (t.dtype == DType::kI64) {
    if (!out.empty()) std::memcpy(out.data(), raw.data(), raw.size());
  } else if (t.dtype == DType::kI32) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      std::int32_t v;
      std::memcpy(&v, raw.data() + 4 * i, 4);
      out[i] = v;
    }
  } else {
    throw core::Error("tensor '" + t.name + "' in '" + impl_->path.string() + "' is " +
                      std::string(dtype_name(t.dtype)) + ", not an integer type (I64, I32)");
  }
  return out;
}

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorRef>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  core::Json header = core::Json::object();
  if (!metadata.empty()) {
    core::Json meta = core::Json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  std::set<std::string_view> seen;
  std::size_t offset = 0;
  for (const TensorRef& t : tensors) {
    if (t.name == "__metadata__" || !seen.insert(t.name).second) {
      throw core::Error("cannot write '" + path.string() +
                        "': duplicate or reserved tensor name '" + t.name + "'");
    }
    std::int64_t numel = 1;
    for (std::int64_t d : t.shape) {
      if (d < 0)
        throw core::Error("cannot write '" + path.string() + "': tensor '" + t.name +
                          "' has a negative dimension");
      numel *= d;
    }
    if (static_cast<std::size_t>(numel) * dtype_size(t.dtype) != t.bytes.size()) {
      throw core::Error("cannot write '" + path.string() + "': tensor '" + t.name + "' has " +
                        std::to_string(t.bytes.size()) + " bytes for " + std::to_string(numel) +
                        " elements of " + std::string(dtype_name(t.dtype)));
    }
    header[t.name] = {{"dtype", dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  std::filesystem::path tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw core::Error("cannot write '" + tmp.string() + "': " + std::strerror(errno));
    std::array<char, 8> len{};
    std::uint64_t n = text.size();
    for (char& c : len) {
      c = static_cast<char>(n & 0xff);
      n >>= 8;
    }
    out.write(len.data(), len.size());
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const TensorRef& t : tensors) {
      out.write(reinterpret_cast<const char*>(t.bytes.data()),
                static_cast<std::streamsize>(t.bytes.size()));
    }
    out.flush();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw core::Error("cannot write '" + path.string() + "': the disk is full or unwritable");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw core::Error("cannot write '" + path.string() + "': " + ec.message());
  }
}

SafetensorsCheckpoint SafetensorsCheckpoint::open(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  fs::path index_path;
  fs::path single;
  if (fs::is_directory(path)) {
    if (fs::exists(path / "model.safetensors.index.json")) {
      index_path = path / "model.safetensors.index.json";
    } else if (fs::exists(path / "model.safetensors")) {
      single = path / "model.safetensors";
    } else {
      throw core::Error("no model.safetensors or model.safetensors.index.json in '" +
                        path.string() + "': point at a folder saved with save_pretrained");
    }
  } else if (path.extension() == ".json") {
    index_path = path;
  } else {
    single = path;
  }

  SafetensorsCheckpoint ckpt;
  if (!single.empty()) {
    ckpt.files_.push_back(SafetensorsFile::open(single));
    for (const TensorInfo& t : ckpt.files_[0].tensors()) ckpt.owner_.emplace(t.name, 0);
    return ckpt;
  }

  const core::Json index = core::read_json_file(index_path);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw core::Error("checkpoint index '" + index_path.string() +
                      "' has no \"weight_map\" object");
  }
  std::map<std::string, std::size_t> shard_of_file;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    if (!it.value().is_string()) {
      throw core::Error("checkpoint index '" + index_path.string() + "': the shard of '" +
                        it.key() + "' is not a file name");
    }
    const std::string file = it.value().get<std::string>();
    if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..") {
      throw core::Error("checkpoint index '" + index_path.string() + "' names shard '" + file +
                        "', which is not a plain file name in its folder");
    }
    auto [pos, added] = shard_of_file.emplace(file, ckpt.files_.size());
    if (added) ckpt.files_.push_back(SafetensorsFile::open(index_path.parent_path() / file));
    const SafetensorsFile& shard = ckpt.files_[pos->second];
    if (shard.find(it.key()) == nullptr) {
      throw core::Error("checkpoint index '" + index_path.string() + "' puts tensor '" + it.key() +
                        "' in '" + file + "', which does not contain it");
    }
    ckpt.owner_.emplace(it.key(), pos->second);
  }
  return ckpt;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : owner_) out.push_back(name);
  return out;
}

const TensorInfo* SafetensorsCheckpoint::find(std::string_view name) const {
  const auto it = owner_.find(name);
  return it == owner_.end() ? nullptr : files_[it->second].find(name);
}

const SafetensorsFile& SafetensorsCheckpoint::file_of(std::string_view name) const {
  const auto it = owner_.find(name);
  if (it == owner_.end()) {
    throw core::Error("the checkpoint has no tensor '" + std::string(name) + "'");
  }
  return files_[it->second];
}

}  // namespace mat::engine
