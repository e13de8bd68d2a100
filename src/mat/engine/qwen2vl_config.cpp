#include "mat/engine/qwen2vl_config.h"

#include <numeric>
#include <optional>

#include "mat/core/error.h"

namespace mat::engine {
namespace {

using core::Json;

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw core::Error("config '" + name + "': " + what);
}

// The first of `objects` that has `key` (text fields live in text_config in newer files and at
// the top level in older ones).
const Json* lookup(std::initializer_list<const Json*> objects, std::string_view key) {
  for (const Json* o : objects) {
    if (o != nullptr && o->is_object()) {
      const auto it = o->find(key);
      if (it != o->end() && !it->is_null()) return &*it;
    }
  }
  return nullptr;
}

int get_int(std::initializer_list<const Json*> objects, std::string_view key,
            const std::string& name, std::optional<int> fallback = std::nullopt) {
  const Json* v = lookup(objects, key);
  if (v == nullptr) {
    if (fallback) return *fallback;
    fail(name, "missing the integer field \"" + std::string(key) + "\"");
  }
  if (!v->is_number_integer()) fail(name, "\"" + std::string(key) + "\" is not an integer");
  const auto value = v->get<std::int64_t>();
  if (value < 0 || value > INT32_MAX) fail(name, "\"" + std::string(key) + "\" is out of range");
  return static_cast<int>(value);
}

double get_double(std::initializer_list<const Json*> objects, std::string_view key,
                  const std::string& name, double fallback) {
  const Json* v = lookup(objects, key);
  if (v == nullptr) return fallback;
  if (!v->is_number()) fail(name, "\"" + std::string(key) + "\" is not a number");
  return v->get<double>();
}

std::string get_string(std::initializer_list<const Json*> objects, std::string_view key,
                       const std::string& name, const std::string& fallback) {
  const Json* v = lookup(objects, key);
  if (v == nullptr) return fallback;
  if (!v->is_string()) fail(name, "\"" + std::string(key) + "\" is not a string");
  return v->get<std::string>();
}

bool get_bool(std::initializer_list<const Json*> objects, std::string_view key,
              const std::string& name, bool fallback) {
  const Json* v = lookup(objects, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) fail(name, "\"" + std::string(key) + "\" is not true or false");
  return v->get<bool>();
}

void check_architecture(const Json& json, const std::string& name) {
  const std::string model_type = json.value("model_type", std::string());
  std::string architecture;
  if (json.contains("architectures") && json["architectures"].is_array() &&
      !json["architectures"].empty() && json["architectures"][0].is_string()) {
    architecture = json["architectures"][0].get<std::string>();
  }
  if (model_type == "qwen2_vl") return;
  if (model_type.empty() && architecture == "Qwen2VLForConditionalGeneration") return;
  const std::string what =
      model_type.empty()
          ? (architecture.empty() ? "an unknown" : architecture)
          : "a \"" + model_type + "\"" + (architecture.empty() ? "" : " (" + architecture + ")");
  fail(name,
       "describes " + what + " model; mat's engine runs Qwen2-VL (model_type \"qwen2_vl\") only");
}

}  // namespace

Qwen2VLConfig parse_qwen2vl_config(const Json& json, const std::string& name) {
  if (!json.is_object()) fail(name, "is not a JSON object");
  check_architecture(json, name);

  const Json* top = &json;
  const Json* text = json.contains("text_config") && json["text_config"].is_object()
                         ? &json["text_config"]
                         : nullptr;
  const Json* vision = json.contains("vision_config") && json["vision_config"].is_object()
                           ? &json["vision_config"]
                           : nullptr;
  if (vision == nullptr) fail(name, "has no \"vision_config\" object");

  Qwen2VLConfig c;
  Qwen2VLTextConfig& t = c.text;
  t.vocab_size = get_int({text, top}, "vocab_size", name);
  t.hidden_size = get_int({text, top}, "hidden_size", name);
  t.intermediate_size = get_int({text, top}, "intermediate_size", name);
  t.num_hidden_layers = get_int({text, top}, "num_hidden_layers", name);
  t.num_attention_heads = get_int({text, top}, "num_attention_heads", name);
  t.num_key_value_heads = get_int({text, top}, "num_key_value_heads", name, t.num_attention_heads);
  if (t.num_attention_heads == 0 || t.hidden_size % t.num_attention_heads != 0) {
    fail(name, "num_attention_heads (" + std::to_string(t.num_attention_heads) +
                   ") does not divide hidden_size (" + std::to_string(t.hidden_size) + ")");
  }
  t.head_dim = get_int({text, top}, "head_dim", name, t.hidden_size / t.num_attention_heads);
  if (t.num_key_value_heads == 0 || t.num_attention_heads % t.num_key_value_heads != 0) {
    fail(name, "num_key_value_heads (" + std::to_string(t.num_key_value_heads) +
                   ") does not divide num_attention_heads (" +
                   std::to_string(t.num_attention_heads) + ")");
  }
  t.rms_norm_eps = get_double({text, top}, "rms_norm_eps", name, 1e-6);
  t.max_position_embeddings = get_int({text, top}, "max_position_embeddings", name, 32768);
  t.hidden_act = get_string({text, top}, "hidden_act", name, "silu");
  t.tie_word_embeddings = get_bool({top, text}, "tie_word_embeddings", name, false);

  // RoPE: rope_parameters (transformers 5) or rope_scaling (earlier), theta inside or beside it.
  const Json* rope = lookup({text, top}, "rope_parameters");
  if (rope == nullptr) rope = lookup({text, top}, "rope_scaling");
  if (rope == nullptr || !rope->is_object())
    fail(name, "has neither rope_parameters nor rope_scaling");
  t.rope_theta = get_double({rope, text, top}, "rope_theta", name, 1000000.0);
  const Json* sections = lookup({rope}, "mrope_section");
  if (sections == nullptr || !sections->is_array() || sections->size() != 3) {
    fail(name, "has no three-element mrope_section in its RoPE parameters");
  }
  for (const Json& s : *sections) {
    if (!s.is_number_integer() || s.get<int>() < 0) fail(name, "mrope_section holds a non-integer");
    t.mrope_section.push_back(s.get<int>());
  }
  const int rope_half = std::accumulate(t.mrope_section.begin(), t.mrope_section.end(), 0);
  if (rope_half * 2 != t.head_dim) {
    fail(name, "mrope_section sums to " + std::to_string(rope_half) + " but head_dim / 2 is " +
                   std::to_string(t.head_dim / 2));
  }

  Qwen2VLVisionConfig& v = c.vision;
  v.depth = get_int({vision}, "depth", name);
  v.embed_dim = get_int({vision}, "embed_dim", name);
  v.hidden_size = get_int({vision}, "hidden_size", name);
  v.mlp_ratio = get_int({vision}, "mlp_ratio", name, 4);
  v.num_heads = get_int({vision}, "num_heads", name);
  v.in_channels = get_int({vision}, "in_channels", name, get_int({vision}, "in_chans", name, 3));
  v.patch_size =
      get_int({vision}, "patch_size", name, get_int({vision}, "spatial_patch_size", name, 14));
  v.spatial_merge_size = get_int({vision}, "spatial_merge_size", name, 2);
  v.temporal_patch_size = get_int({vision}, "temporal_patch_size", name, 2);
  v.hidden_act = get_string({vision}, "hidden_act", name, "quick_gelu");
  if (v.num_heads == 0 || v.embed_dim % v.num_heads != 0) {
    fail(name, "vision num_heads does not divide embed_dim");
  }
  if (v.hidden_size != t.hidden_size) {
    fail(name, "the vision merger's output width (" + std::to_string(v.hidden_size) +
                   ") differs from the text hidden_size (" + std::to_string(t.hidden_size) + ")");
  }

  c.image_token_id = get_int({top, text}, "image_token_id", name);
  c.video_token_id = get_int({top, text}, "video_token_id", name, -1);
  c.vision_start_token_id = get_int({top, text}, "vision_start_token_id", name);
  c.vision_end_token_id = get_int({top, text}, "vision_end_token_id", name);
  if (const Json* eos = lookup({text, top}, "eos_token_id")) {
    if (eos->is_number_integer()) {
      c.eos_token_ids.push_back(eos->get<int>());
    } else if (eos->is_array()) {
      for (const Json& e : *eos)
        if (e.is_number_integer()) c.eos_token_ids.push_back(e.get<int>());
    }
  }
  return c;
}

Qwen2VLConfig load_qwen2vl_config(const std::filesystem::path& path) {
  return parse_qwen2vl_config(core::read_json_file(path), path.string());
}

ImageProcessorConfig parse_image_processor_config(const Json& json, const std::string& name) {
  if (!json.is_object()) fail(name, "is not a JSON object");
  const std::string type = json.value("image_processor_type", std::string("Qwen2VLImageProcessor"));
  if (type != "Qwen2VLImageProcessor" && type != "Qwen2VLImageProcessorFast" &&
      type != "Qwen2VLImageProcessorPil") {
    fail(name, "is for a \"" + type + "\"; mat reproduces Qwen2VLImageProcessor only");
  }
  ImageProcessorConfig c;
  const Json* top = &json;
  const Json* size = json.contains("size") && json["size"].is_object() ? &json["size"] : nullptr;
  auto get_i64 = [&](std::initializer_list<const Json*> objs,
                     std::string_view key) -> std::optional<std::int64_t> {
    const Json* v = lookup(objs, key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number_integer() || v->get<std::int64_t>() <= 0) {
      fail(name, "\"" + std::string(key) + "\" is not a positive integer");
    }
    return v->get<std::int64_t>();
  };
  // Top-level min/max_pixels override "size" in the reference (backward compatibility).
  if (auto v = get_i64({top}, "min_pixels")) {
    c.min_pixels = *v;
  } else if (auto s = get_i64({size}, "shortest_edge")) {
    c.min_pixels = *s;
  } else if (auto m = get_i64({size}, "min_pixels")) {
    c.min_pixels = *m;
  }
  if (auto v = get_i64({top}, "max_pixels")) {
    c.max_pixels = *v;
  } else if (auto s = get_i64({size}, "longest_edge")) {
    c.max_pixels = *s;
  } else if (auto m = get_i64({size}, "max_pixels")) {
    c.max_pixels = *m;
  }
  if (c.min_pixels > c.max_pixels) fail(name, "min_pixels exceeds max_pixels");
  c.patch_size = get_int({top}, "patch_size", name, 14);
  c.temporal_patch_size = get_int({top}, "temporal_patch_size", name, 2);
  c.merge_size = get_int({top}, "merge_size", name, 2);
  if (c.patch_size == 0 || c.temporal_patch_size == 0 || c.merge_size == 0) {
    fail(name, "patch_size, temporal_patch_size and merge_size must be positive");
  }
  auto triple = [&](std::string_view key, std::array<double, 3>& out) {
    const Json* v = lookup({top}, key);
    if (v == nullptr) return;
    if (v->is_number()) {
      out.fill(v->get<double>());
      return;
    }
    if (!v->is_array() || v->size() != 3)
      fail(name, "\"" + std::string(key) + "\" is not three numbers");
    for (std::size_t i = 0; i < 3; ++i) {
      if (!(*v)[i].is_number()) fail(name, "\"" + std::string(key) + "\" is not three numbers");
      out[i] = (*v)[i].get<double>();
    }
  };
  triple("image_mean", c.image_mean);
  triple("image_std", c.image_std);
  for (double s : c.image_std)
    if (s == 0) fail(name, "image_std holds a zero");
  c.rescale_factor = get_double({top}, "rescale_factor", name, 1.0 / 255.0);
  c.do_resize = get_bool({top}, "do_resize", name, true);
  c.do_rescale = get_bool({top}, "do_rescale", name, true);
  c.do_normalize = get_bool({top}, "do_normalize", name, true);
  c.do_convert_rgb = get_bool({top}, "do_convert_rgb", name, true);
  c.resample = get_int({top}, "resample", name, 3);
  if (c.resample != 3) {
    fail(name, "asks for resample filter " + std::to_string(c.resample) +
                   "; only 3 (bicubic) is supported");
  }
  return c;
}

ImageProcessorConfig load_image_processor_config(const std::filesystem::path& path) {
  return parse_image_processor_config(core::read_json_file(path), path.string());
}

}  // namespace mat::engine
