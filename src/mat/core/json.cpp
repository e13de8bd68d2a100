#include "mat/core/json.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "mat/core/error.h"

namespace mat::core {

size_t json_nesting_depth(std::string_view text, size_t limit) {
  size_t depth = 0;
  size_t deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // whatever is escaped cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

std::optional<Json> parse_untrusted_json(std::string_view text, size_t max_depth) {
  if (json_nesting_depth(text, max_depth) > max_depth) return std::nullopt;
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error("cannot read '" + path.string() + "': " +
                (std::filesystem::exists(path) ? "permission denied or not a regular file"
                                               : "no such file"));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Json read_json_file(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  if (json_nesting_depth(text) > kMaxJsonDepth) {
    throw Error("'" + path.string() + "' nests arrays or objects more than " +
                std::to_string(kMaxJsonDepth) + " deep: it is not a file mat wrote");
  }
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw Error("'" + path.string() + "' is not valid JSON: " + e.what());
  }
}

void write_json_file(const std::filesystem::path& path, const Json& value, int indent) {
  thread_local std::mt19937 random{std::random_device{}()};
  const std::filesystem::path tmp = path.string() + ".tmp." +
                                    std::to_string(static_cast<long>(::getpid())) + "." +
                                    std::to_string(random());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw Error("cannot create '" + tmp.string() + "': " + std::strerror(errno) +
                "; check that the folder exists and is writable");
  }
  const std::string text = value.dump(indent, ' ', false, Json::error_handler_t::replace) + "\n";
  std::string_view rest = text;
  int error = 0;
  while (!rest.empty() && error == 0) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n > 0) {
      rest.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && errno != EINTR) {
      error = errno;
    }
  }
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    ::unlink(tmp.c_str());
    throw Error("writing '" + path.string() + "' failed: " + std::strerror(error) +
                (error == ENOSPC ? " (the disk is full)" : ""));
  }
}

}  // namespace mat::core
