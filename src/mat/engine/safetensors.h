// safetensors files: read (memory-mapped, header validated) and written.
//
// The format: an 8-byte little-endian header length N, N bytes of JSON
// ({"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
// "__metadata__": {"k": "v"}}), then the data section, which the tensors tile exactly.
//
//   auto file = SafetensorsFile::open("model.safetensors");
//   for (const TensorInfo& t : file.tensors()) ...;
//   std::vector<float> w = file.to_f32("lm_head.weight");
//
// A checkpoint split into shards is read through SafetensorsCheckpoint
// (model.safetensors.index.json).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mat::engine {

enum class DType { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

std::string_view dtype_name(DType dtype);  // "F32", "BF16", ...
std::size_t dtype_size(DType dtype);       // bytes per element
std::optional<DType> dtype_from_name(std::string_view name);

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  std::size_t begin = 0;  // byte range in the data section
  std::size_t end = 0;

  std::int64_t numel() const;
  std::size_t nbytes() const { return end - begin; }
};

// A tensor to write: its bytes are borrowed, not copied.
struct TensorRef {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> bytes;
};

class SafetensorsFile {
 public:
  // Maps the file and validates its header (length, JSON, dtypes, shapes, byte ranges that tile
  // the data section without overlap or gap). Throws core::Error naming the file and the fault.
  static SafetensorsFile open(const std::filesystem::path& path);

  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

  const std::filesystem::path& path() const;
  const std::vector<TensorInfo>& tensors() const;  // in data order
  const std::map<std::string, std::string>& metadata() const;
  const TensorInfo* find(std::string_view name) const;  // nullptr when absent
  // Throws core::Error naming the file and the tensor when absent.
  const TensorInfo& at(std::string_view name) const;

  // The raw little-endian bytes of a tensor (valid while this object lives).
  std::span<const std::byte> bytes(const TensorInfo& tensor) const;
  // Lets the system drop the tensor's pages from this process's memory once they have been
  // copied (a loader's peak memory is then the model plus one tensor, not the model plus the
  // file). bytes() stays valid: the pages are read again if touched.
  void release(const TensorInfo& tensor) const;

  // Copies converted to a host type. to_f32 takes F32, F16 and BF16; to_i64 takes I64 and I32.
  // Throws core::Error for other dtypes.
  std::vector<float> to_f32(std::string_view name) const;
  std::vector<std::int64_t> to_i64(std::string_view name) const;

 private:
  struct Impl;
  explicit SafetensorsFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Validates a header (the JSON text) against a data section of `data_size` bytes; `name` is what
// errors call the file. Exposed for tests and fuzzing; SafetensorsFile::open uses it.
struct ParsedHeader {
  std::vector<TensorInfo> tensors;
  std::map<std::string, std::string> metadata;
};
ParsedHeader parse_safetensors_header(std::string_view header, std::size_t data_size,
                                      const std::string& name);

// Writes tensors (in the given order) and string metadata atomically (temporary file, then
// rename). The header is padded with spaces to a multiple of 8 bytes, as the reference writer
// does. Throws core::Error on a size mismatch, a duplicate name or an I/O failure.
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorRef>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// A checkpoint: one model.safetensors, or the shards listed by model.safetensors.index.json.
class SafetensorsCheckpoint {
 public:
  // `path` is a folder (index file or model.safetensors inside), an index file or one
  // .safetensors file. Throws core::Error when none is found or a shard is missing or invalid.
  static SafetensorsCheckpoint open(const std::filesystem::path& path);

  std::vector<std::string> names() const;  // every tensor, sorted
  const TensorInfo* find(std::string_view name) const;
  // The file that holds `name`; throws core::Error when absent.
  const SafetensorsFile& file_of(std::string_view name) const;
  std::vector<float> to_f32(std::string_view name) const { return file_of(name).to_f32(name); }

 private:
  std::vector<SafetensorsFile> files_;
  std::map<std::string, std::size_t, std::less<>> owner_;  // tensor name -> index in files_
};

// Half-precision conversions (exact; NaN payloads kept where representable).
float f16_to_f32(std::uint16_t bits);
float bf16_to_f32(std::uint16_t bits);

}  // namespace mat::engine
