# -*- Python -*-
import os
import shutil
import subprocess

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "EGS"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.egs_obj_root, "test")
config.excludes = ["Inputs", "consumer", "CMakeLists.txt", "README.md", "lit.cfg.py",
                   "lit.site.cfg.py", "python"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%shlibext", ".so"))
config.substitutions.append(("%egs_src_root", config.egs_src_root))
config.substitutions.append(("%egs_obj_root", config.egs_obj_root))
config.substitutions.append(("%egs_lib_dir", config.egs_lib_dir))
config.substitutions.append(("%mlir_lib_dir", config.mlir_lib_dir))
config.substitutions.append(("%mlir_dir", config.mlir_dir))
config.substitutions.append(("%cmake", config.cmake_command))
config.substitutions.append(("%python", shutil.which("python3") or "python3"))
with open(os.path.join(config.egs_src_root, "VERSION")) as f:
    config.substitutions.append(("%egs_version", f.read().strip()))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP",
                                     "CUDA_HOME", "CUDA_ROOT"])
llvm_config.use_default_substitutions()

tool_dirs = [config.egs_tools_dir, config.llvm_tools_dir]
tools = ["egs-opt", ToolSubst("egs-runner", unresolved="ignore"),
         ToolSubst("egs-runtime-test", unresolved="ignore"),
         ToolSubst("mlir-opt", unresolved="ignore"),
         ToolSubst("mlir-translate", unresolved="ignore")]
llvm_config.add_tool_substitutions(tools, tool_dirs)
llvm_config.with_environment("PATH", config.egs_tools_dir, append_path=True)
# `not`, `count` and FileCheck live in Debian's LLVM tools directory.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

if config.egs_enable_plugin:
    config.available_features.add("plugin")
if config.egs_ptxas and os.path.exists(config.egs_ptxas):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", config.egs_ptxas))
    cuda_bin = os.path.dirname(config.egs_ptxas)
    llvm_config.with_environment("PATH", cuda_bin, append_path=True)
    llvm_config.with_environment("CUDA_HOME", os.path.dirname(cuda_bin))

# GPU integration tests run only where a CUDA device answers.
def has_cuda_device():
    if os.environ.get("EGS_TEST_CUDA") == "0":
        return False
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20)
        return out.returncode == 0 and "GPU" in out.stdout
    except Exception:
        return False

if has_cuda_device():
    config.available_features.add("cuda")
