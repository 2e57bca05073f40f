#include "models/qwen_vl/hf_config.h"

#include <cmath>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"

namespace ec::models {
namespace {

using json = nlohmann::json;

// Typed reads with the key's path in every error.
struct Reader {
  const json& obj;
  std::string where;  // "config.json: text_config"
  bool has(const char* key) const { return obj.is_object() && obj.contains(key) && !obj[key].is_null(); }
  const json& at(const char* key) const { return obj[key]; }

  int64_t integer(const char* key, int64_t def) const {
    if (!has(key)) return def;
    const json& v = obj[key];
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()) return static_cast<int64_t>(v.get<double>());
    throw EC_USER_ERROR(Input, "{}.{}: expected an integer, got {}", where, key, v.dump());
  }
  double number(const char* key, double def) const {
    if (!has(key)) return def;
    const json& v = obj[key];
    if (!v.is_number()) throw EC_USER_ERROR(Input, "{}.{}: expected a number, got {}", where, key, v.dump());
    return v.get<double>();
  }
  bool boolean(const char* key, bool def) const {
    if (!has(key)) return def;
    const json& v = obj[key];
    if (!v.is_boolean()) throw EC_USER_ERROR(Input, "{}.{}: expected true or false, got {}", where, key, v.dump());
    return v.get<bool>();
  }
  std::string string(const char* key, const std::string& def) const {
    if (!has(key)) return def;
    const json& v = obj[key];
    if (!v.is_string()) throw EC_USER_ERROR(Input, "{}.{}: expected a string, got {}", where, key, v.dump());
    return v.get<std::string>();
  }
  std::vector<int64_t> ints(const char* key, std::vector<int64_t> def) const {
    if (!has(key)) return def;
    const json& v = obj[key];
    if (!v.is_array()) throw EC_USER_ERROR(Input, "{}.{}: expected a list of integers, got {}", where, key, v.dump());
    std::vector<int64_t> out;
    for (const auto& x : v) {
      if (!x.is_number_integer()) throw EC_USER_ERROR(Input, "{}.{}: expected integers, got {}", where, key, v.dump());
      out.push_back(x.get<int64_t>());
    }
    return out;
  }
  Reader sub(const char* key) const {
    static const json empty = json::object();
    if (!has(key)) return {empty, where + "." + key};
    if (!obj[key].is_object()) throw EC_USER_ERROR(Input, "{}.{}: expected an object", where, key);
    return {obj[key], where + "." + key};
  }
};

nn::Activation parse_act(const std::string& name, const std::string& where) {
  for (const auto& e : config_enum_entries(nn::Activation{})) {
    if (e.name == name) return e.value;
  }
  throw EC_USER_ERROR(Input, "{}: unsupported hidden_act '{}' (supported: silu, quick_gelu, gelu_pytorch_tanh, gelu)",
                      where, name);
}

ModelFamily parse_family(const std::string& model_type, const std::string& source) {
  if (model_type == "qwen2_vl") return ModelFamily::Qwen2VL;
  if (model_type == "qwen2_5_vl") return ModelFamily::Qwen25VL;
  if (model_type == "qwen3_vl") return ModelFamily::Qwen3VL;
  throw EC_USER_ERROR(Input, "{}: model_type '{}' is not a supported Qwen-VL family (qwen2_vl, qwen2_5_vl, qwen3_vl)",
                      source, model_type);
}

const char* model_type(ModelFamily f) {
  switch (f) {
    case ModelFamily::Qwen2VL:
      return "qwen2_vl";
    case ModelFamily::Qwen25VL:
      return "qwen2_5_vl";
    case ModelFamily::Qwen3VL:
      return "qwen3_vl";
  }
  return "";
}

const char* architecture(ModelFamily f) {
  switch (f) {
    case ModelFamily::Qwen2VL:
      return "Qwen2VLForConditionalGeneration";
    case ModelFamily::Qwen25VL:
      return "Qwen2_5_VLForConditionalGeneration";
    case ModelFamily::Qwen3VL:
      return "Qwen3VLForConditionalGeneration";
  }
  return "";
}

const char* dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kBFloat16:
      return "bfloat16";
    case at::kHalf:
      return "float16";
    default:
      return "float32";
  }
}

void read_text(const Reader& top, ModelFamily family, QwenTextConfig& t, const std::string& source) {
  const bool q3 = family == ModelFamily::Qwen3VL;
  const Reader r = top.has("text_config") ? top.sub("text_config") : top;
  // transformers class defaults (Qwen2VLTextConfig / Qwen3VLTextConfig).
  t.vocab_size = r.integer("vocab_size", q3 ? 151936 : 152064);
  t.hidden_size = r.integer("hidden_size", q3 ? 4096 : 8192);
  t.intermediate_size = r.integer("intermediate_size", q3 ? 22016 : 29568);
  t.num_layers = r.integer("num_hidden_layers", q3 ? 32 : 80);
  t.num_heads = r.integer("num_attention_heads", q3 ? 32 : 64);
  t.num_kv_heads = r.integer("num_key_value_heads", t.num_heads);
  // Qwen2/2.5 derive the head width from hidden / heads whatever the file says.
  t.head_dim = q3 ? r.integer("head_dim", 128) : 0;
  t.rms_norm_eps = r.number("rms_norm_eps", q3 ? 1e-6 : 1e-5);
  t.max_position_embeddings = r.integer("max_position_embeddings", q3 ? 128000 : 32768);
  const std::string act = r.string("hidden_act", "silu");
  EC_USER_CHECK(act == "silu", Input, "{}: text hidden_act '{}' is not supported (silu)", r.where, act);
  EC_USER_CHECK(!r.boolean("use_sliding_window", false), Input,
                "{}: use_sliding_window is true; sliding-window attention is not supported (no released checkpoint uses it)",
                r.where);
  EC_USER_CHECK(!r.boolean("attention_bias", false), Input, "{}: attention_bias true is not supported for Qwen3-VL",
                r.where);
  // RoPE: rope_parameters (5.x), else rope_scaling (4.x), rope_theta inside them or beside them.
  const Reader rope = r.has("rope_parameters") ? r.sub("rope_parameters")
                      : r.has("rope_scaling")  ? r.sub("rope_scaling")
                      : top.has("rope_scaling") ? top.sub("rope_scaling")
                                                : r.sub("rope_parameters");
  const std::string type = rope.string("rope_type", rope.string("type", "default"));
  EC_USER_CHECK(type == "default" || type == "mrope", Input, "{}: rope type '{}' is not supported (default, mrope)",
                rope.where, type);
  t.rope_theta = rope.number("rope_theta", r.number("rope_theta", top.number("rope_theta", q3 ? 500000.0 : 1e6)));
  t.mrope_section = rope.ints("mrope_section", q3 ? std::vector<int64_t>{24, 20, 20} : std::vector<int64_t>{16, 24, 24});
  t.mrope_interleaved = rope.boolean("mrope_interleaved", q3);
  (void)source;
}

void read_vision(const Reader& top, ModelFamily family, QwenVisionConfig& v) {
  const Reader r = top.sub("vision_config");
  v.patch_size = r.integer("patch_size", family == ModelFamily::Qwen3VL ? 16 : 14);
  v.temporal_patch_size = r.integer("temporal_patch_size", 2);
  v.spatial_merge_size = r.integer("spatial_merge_size", 2);
  v.in_channels = r.integer("in_channels", 3);
  v.rope_theta = r.sub("rope_parameters").number("rope_theta", 10000.0);
  switch (family) {
    case ModelFamily::Qwen2VL: {
      v.depth = r.integer("depth", 32);
      v.hidden_size = r.integer("embed_dim", 1280);
      v.out_hidden_size = r.integer("hidden_size", 3584);
      v.num_heads = r.integer("num_heads", 16);
      v.intermediate_size = static_cast<int64_t>(static_cast<double>(v.hidden_size) * r.number("mlp_ratio", 4.0));
      v.hidden_act = parse_act(r.string("hidden_act", "quick_gelu"), r.where);
      break;
    }
    case ModelFamily::Qwen25VL: {
      v.depth = r.integer("depth", 32);
      v.hidden_size = r.integer("hidden_size", 3584);
      v.out_hidden_size = r.integer("out_hidden_size", 3584);
      v.num_heads = r.integer("num_heads", 16);
      v.intermediate_size = r.integer("intermediate_size", 3420);
      v.hidden_act = parse_act(r.string("hidden_act", "silu"), r.where);
      v.window_size = r.integer("window_size", 112);
      v.fullatt_block_indexes = r.ints("fullatt_block_indexes", {7, 15, 23, 31});
      v.tokens_per_second = r.integer("tokens_per_second", 4);
      break;
    }
    case ModelFamily::Qwen3VL: {
      v.depth = r.integer("depth", 27);
      v.hidden_size = r.integer("hidden_size", 1152);
      v.out_hidden_size = r.integer("out_hidden_size", 3584);
      v.num_heads = r.integer("num_heads", 16);
      v.intermediate_size = r.integer("intermediate_size", 4304);
      v.hidden_act = parse_act(r.string("hidden_act", "gelu_pytorch_tanh"), r.where);
      v.num_position_embeddings = r.integer("num_position_embeddings", 2304);
      v.deepstack_visual_indexes = r.ints("deepstack_visual_indexes", {8, 16, 24});
      break;
    }
  }
}

}  // namespace

QwenVLConfig config_from_hf(const json& j, const std::string& source) {
  EC_USER_CHECK(j.is_object(), Input, "{}: expected a JSON object", source);
  const Reader top{j, source};
  QwenVLConfig c;
  c.family = parse_family(top.string("model_type", ""), source);
  read_text(top, c.family, c.text, source);
  read_vision(top, c.family, c.vision);
  // transformers 5.x: tied if the top level says so, or (pre-5 saves) the text config does.
  const Reader text = top.has("text_config") ? top.sub("text_config") : top;
  c.tie_word_embeddings = top.boolean("tie_word_embeddings", false) || text.boolean("tie_word_embeddings", false);
  c.image_token_id = top.integer("image_token_id", 151655);
  c.video_token_id = top.integer("video_token_id", 151656);
  c.vision_start_token_id = top.integer("vision_start_token_id", 151652);
  c.vision_end_token_id = top.integer("vision_end_token_id", 151653);
  check_architecture(c, source);
  return c;
}

QwenVLConfig load_hf_config(const std::filesystem::path& path) {
  const std::filesystem::path file = std::filesystem::is_directory(path) ? path / "config.json" : path;
  const std::string text = read_file(file);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw EC_USER_ERROR(Input, "{}: invalid JSON: {}", file.string(), e.what());
  }
  return config_from_hf(j, file.string());
}

nlohmann::ordered_json config_to_hf(const QwenVLConfig& c, at::ScalarType dtype) {
  using ojson = nlohmann::ordered_json;
  const bool q3 = c.family == ModelFamily::Qwen3VL;
  const auto& t = c.text;
  const auto& v = c.vision;
  ojson rope = {{"rope_type", "default"}, {"rope_theta", t.rope_theta}, {"mrope_section", t.mrope_section}};
  if (q3 || t.mrope_interleaved) rope["mrope_interleaved"] = t.mrope_interleaved;
  ojson text = {{"model_type", std::string(model_type(c.family)) + "_text"},
                {"vocab_size", t.vocab_size},
                {"hidden_size", t.hidden_size},
                {"intermediate_size", t.intermediate_size},
                {"num_hidden_layers", t.num_layers},
                {"num_attention_heads", t.num_heads},
                {"num_key_value_heads", t.num_kv_heads},
                {"hidden_act", "silu"},
                {"max_position_embeddings", t.max_position_embeddings},
                {"rms_norm_eps", t.rms_norm_eps},
                {"rope_parameters", rope}};
  if (q3) {
    text["head_dim"] = t.resolved_head_dim();
    text["attention_bias"] = false;
  } else {
    text["use_sliding_window"] = false;
    // Qwen's ids when they exist in this vocabulary; transformers warns about ids beyond it.
    text["bos_token_id"] = t.vocab_size > 151643 ? ojson(151643) : ojson(nullptr);
    text["eos_token_id"] = t.vocab_size > 151645 ? ojson(151645) : ojson(nullptr);
  }
  ojson vision = {{"model_type", std::string(model_type(c.family)) + "_vision"},
                  {"depth", v.depth},
                  {"num_heads", v.num_heads},
                  {"in_channels", v.in_channels},
                  {"patch_size", v.patch_size},
                  {"spatial_merge_size", v.spatial_merge_size},
                  {"temporal_patch_size", v.temporal_patch_size},
                  {"hidden_act", config::enum_name(v.hidden_act)},
                  {"rope_parameters", {{"rope_type", "axial"}, {"rope_theta", v.rope_theta}}}};
  switch (c.family) {
    case ModelFamily::Qwen2VL:
      EC_USER_CHECK(v.intermediate_size % v.hidden_size == 0, Usage,
                    "Qwen2-VL configs express the vision MLP width as an integer mlp_ratio; {} is not a multiple of {}",
                    v.intermediate_size, v.hidden_size);
      vision["embed_dim"] = v.hidden_size;
      vision["hidden_size"] = v.out_hidden_size;
      vision["mlp_ratio"] = v.intermediate_size / v.hidden_size;
      break;
    case ModelFamily::Qwen25VL:
      vision["hidden_size"] = v.hidden_size;
      vision["intermediate_size"] = v.intermediate_size;
      vision["out_hidden_size"] = v.out_hidden_size;
      vision["window_size"] = v.window_size;
      vision["fullatt_block_indexes"] = v.fullatt_block_indexes;
      vision["tokens_per_second"] = v.tokens_per_second;
      break;
    case ModelFamily::Qwen3VL:
      vision["hidden_size"] = v.hidden_size;
      vision["intermediate_size"] = v.intermediate_size;
      vision["out_hidden_size"] = v.out_hidden_size;
      vision["num_position_embeddings"] = v.num_position_embeddings;
      vision["deepstack_visual_indexes"] = v.deepstack_visual_indexes;
      break;
  }
  return ojson{{"architectures", {architecture(c.family)}},
               {"model_type", model_type(c.family)},
               {"dtype", dtype_name(dtype)},
               {"tie_word_embeddings", c.tie_word_embeddings},
               {"image_token_id", c.image_token_id},
               {"video_token_id", c.video_token_id},
               {"vision_start_token_id", c.vision_start_token_id},
               {"vision_end_token_id", c.vision_end_token_id},
               {"text_config", text},
               {"vision_config", vision}};
}

}  // namespace ec::models
