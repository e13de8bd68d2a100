#include "mat/core/json.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "mat/core/error.h"

namespace mat::core {

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
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw Error("'" + path.string() + "' is not valid JSON: " + e.what());
  }
}

void write_json_file(const std::filesystem::path& path, const Json& value, int indent) {
  const std::filesystem::path tmp =
      path.string() + ".tmp." + std::to_string(static_cast<long>(::getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write '" + tmp.string() + "': check that the folder exists");
    out << value.dump(indent, ' ', false, Json::error_handler_t::replace) << '\n';
    if (!out.flush()) throw Error("writing '" + tmp.string() + "' failed (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    throw Error("cannot move '" + tmp.string() + "' to '" + path.string() + "': " + ec.message());
}

}  // namespace mat::core
