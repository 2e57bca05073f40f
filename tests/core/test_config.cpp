#include <gtest/gtest.h>

#include "editcaption/config/visitor.h"
#include "tests/common/test_util.h"

namespace ec {
namespace {

enum class Shape { Circle, Square };
EC_CONFIG_ENUM(Shape, {{"circle", Shape::Circle}, {"square", Shape::Square}})

struct Inner {
  using is_config_section = void;
  double lr = 0.001;
  int64_t warmup_steps = 10;
  int64_t max_steps = 100;
  std::vector<double> betas{0.9, 0.999};
  template <class V>
  void visit(V& v) {
    v("lr", lr, "learning rate", config::greater_than(0.0));
    v("warmup_steps", warmup_steps, "warmup", config::at_least<int64_t>(0));
    v("max_steps", max_steps, "steps", config::at_least<int64_t>(1));
    v("betas", betas, "betas", config::range(0.0, 1.0));
  }
  void validate(config::Validation& v) const {
    if (warmup_steps > max_steps) v.error("warmup_steps", "must not exceed max_steps ({})", max_steps);
  }
};

struct Root {
  using is_config_section = void;
  std::string name = "x";
  bool flag = false;
  Shape shape = Shape::Circle;
  std::optional<int> maybe;
  std::map<std::string, double> weights{{"P0", 1.0}};
  Inner trainer;
  template <class V>
  void visit(V& v) {
    v("name", name, "name", config::non_empty());
    v("flag", flag, "flag");
    v("shape", shape, "shape");
    v("maybe", maybe, "optional");
    v("weights", weights, "weights");
    v("trainer", trainer, "trainer section");
  }
};

Root read_text_config(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  test::TempDir dir;
  test::write_text(dir / "c.yaml", yaml);
  return config::read<Root>(config::load_config(dir / "c.yaml", overrides));
}

std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  try {
    read_text_config(yaml, overrides);
  } catch (const UserError& e) {
    EXPECT_EQ(e.code(), ExitCode::Usage);
    return e.what();
  }
  return "";
}

TEST(Config, DefaultsAndValues) {
  Root r = read_text_config("name: run1\nflag: true\nshape: square\nmaybe: 3\ntrainer:\n  lr: 2e-5\n  betas: [0.5, 0.6]\n");
  EXPECT_EQ(r.name, "run1");
  EXPECT_TRUE(r.flag);
  EXPECT_EQ(r.shape, Shape::Square);
  ASSERT_TRUE(r.maybe.has_value());
  EXPECT_EQ(*r.maybe, 3);
  EXPECT_DOUBLE_EQ(r.trainer.lr, 2e-5);
  EXPECT_EQ(r.trainer.max_steps, 100);
  EXPECT_EQ(r.trainer.betas, (std::vector<double>{0.5, 0.6}));
}

TEST(Config, UnknownKeyNamesFileLineAndSuggestion) {
  std::string err = error_of("name: a\ntrainer:\n  lrr: 0.1\n");
  EXPECT_NE(err.find("c.yaml:3:3"), std::string::npos) << err;
  EXPECT_NE(err.find("unknown key 'trainer.lrr'"), std::string::npos) << err;
  EXPECT_NE(err.find("did you mean 'trainer.lr'"), std::string::npos) << err;
}

TEST(Config, UnknownKeyInWrongSectionSuggestsFullPath) {
  std::string err = error_of("warmup_steps: 5\n");
  EXPECT_NE(err.find("did you mean 'trainer.warmup_steps'"), std::string::npos) << err;
}

TEST(Config, WrongTypeNamesKeyAndLine) {
  std::string err = error_of("name: a\ntrainer:\n  max_steps: lots\n");
  EXPECT_NE(err.find("c.yaml:3:14"), std::string::npos) << err;
  EXPECT_NE(err.find("'trainer.max_steps' expects an integer, got 'lots'"), std::string::npos) << err;
  EXPECT_NE(error_of("flag: 1\n").find("expects true or false"), std::string::npos);
  EXPECT_NE(error_of("trainer: 5\n").find("expects a section"), std::string::npos);
  EXPECT_NE(error_of("trainer:\n  betas: 0.9\n").find("expects a list"), std::string::npos);
}

TEST(Config, RangeAndEnumAndCrossField) {
  EXPECT_NE(error_of("trainer:\n  lr: -1\n").find("'trainer.lr' must be > 0"), std::string::npos);
  EXPECT_NE(error_of("trainer:\n  betas: [0.9, 1.5]\n").find("must be in [0, 1], got 1.5"), std::string::npos);
  std::string e = error_of("shape: sqare\n");
  EXPECT_NE(e.find("expects one of circle, square"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'square'"), std::string::npos) << e;
  e = error_of("trainer:\n  warmup_steps: 500\n");
  EXPECT_NE(e.find("'trainer.warmup_steps' must not exceed max_steps (100)"), std::string::npos) << e;
  EXPECT_NE(e.find("c.yaml:2:3"), std::string::npos) << e;
}

TEST(Config, AllProblemsReportedTogether) {
  std::string e = error_of("nmae: a\ntrainer:\n  lr: x\n  max_stepz: 3\n");
  EXPECT_NE(e.find("'nmae'"), std::string::npos);
  EXPECT_NE(e.find("'trainer.lr'"), std::string::npos);
  EXPECT_NE(e.find("'trainer.max_stepz'"), std::string::npos);
}

TEST(Config, DuplicateKeyAndBadYaml) {
  EXPECT_NE(error_of("name: a\nname: b\n").find("duplicate key 'name'"), std::string::npos);
  EXPECT_NE(error_of("name: [a\n").find("invalid YAML"), std::string::npos);
}

TEST(Config, BaseInheritanceAndOverrides) {
  test::TempDir dir;
  test::write_text(dir / "base.yaml", "name: base\ntrainer:\n  lr: 0.5\n  max_steps: 7\n");
  test::write_text(dir / "sub" / "child.yaml", "base: ../base.yaml\ntrainer:\n  lr: 0.25\n");
  auto node = config::load_config(dir / "sub" / "child.yaml", {"trainer.max_steps=19", "flag=true", "weights.P1=0.5"});
  Root r = config::read<Root>(node);
  EXPECT_EQ(r.name, "base");
  EXPECT_DOUBLE_EQ(r.trainer.lr, 0.25);
  EXPECT_EQ(r.trainer.max_steps, 19);
  EXPECT_TRUE(r.flag);
  EXPECT_DOUBLE_EQ(r.weights.at("P1"), 0.5);
  // An error in an override names the override.
  try {
    config::read<Root>(config::load_config(dir / "sub" / "child.yaml", {"trainer.lr=abc"}));
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("--set #1 'trainer.lr=abc'"), std::string::npos) << e.what();
  }
}

TEST(Config, InheritanceCycleIsAnError) {
  test::TempDir dir;
  test::write_text(dir / "a.yaml", "base: b.yaml\n");
  test::write_text(dir / "b.yaml", "base: a.yaml\n");
  EXPECT_THROW(config::load_config(dir / "a.yaml", {}), UserError);
}

TEST(Config, OptionalNullAndQuotedStrings) {
  Root r = read_text_config("maybe: null\nname: \"123\"\n");
  EXPECT_FALSE(r.maybe.has_value());
  EXPECT_EQ(r.name, "123");
}

TEST(Config, JsonYamlRoundTripIsStable) {
  Root r = read_text_config("name: \"true\"\ntrainer:\n  lr: 0.1\n");
  auto j = config::to_json(r);
  std::string yaml = config::json_to_yaml(j);
  test::TempDir dir;
  test::write_text(dir / "r.yaml", yaml);
  Root again = config::read<Root>(config::load_config(dir / "r.yaml", {}));
  EXPECT_EQ(config::to_json(again), j) << yaml;
  EXPECT_EQ(config::config_hash(config::to_json(again)), config::config_hash(j));
}

TEST(Config, SchemaListsEveryKey) {
  auto rows = config::schema<Root>();
  std::vector<std::string> paths;
  for (const auto& row : rows) paths.push_back(row.path);
  for (const char* p : {"name", "trainer", "trainer.lr", "trainer.betas", "weights", "shape"}) {
    EXPECT_NE(std::find(paths.begin(), paths.end(), p), paths.end()) << p;
  }
}

}  // namespace
}  // namespace ec
