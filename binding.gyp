# The native kernel backend (src/backend/native), built by scripts/build-native.mjs during
# npm install. Each instruction set's kernels are one library compiled with its own flags;
# the addon links them all and picks one at run time from what the CPU supports.
{
  "target_defaults": {
    "cflags_c": ["-std=gnu11", "-O3", "-fPIC", "-fno-math-errno", "-Wall", "-Wextra"],
    "cflags!": ["-O2"],
  },
  "targets": [
    {
      "target_name": "chainrule_isa_portable",
      "type": "static_library",
      "sources": ["src/backend/native/isa-portable.c"],
    },
    {
      "target_name": "chainrule_native",
      "sources": ["src/backend/native/addon.c", "src/backend/native/pool.c"],
      "dependencies": ["chainrule_isa_portable"],
      "libraries": ["-lpthread"],
      "conditions": [
        ["target_arch == 'x64'", {"dependencies": ["chainrule_isa_avx2", "chainrule_isa_avx512"]}],
      ],
    },
  ],
  "conditions": [
    ["target_arch == 'x64'", {
      "targets": [
        {
          "target_name": "chainrule_isa_avx2",
          "type": "static_library",
          "sources": ["src/backend/native/isa-avx2.c"],
          "cflags_c": ["-mavx2", "-mfma"],
        },
        {
          "target_name": "chainrule_isa_avx512",
          "type": "static_library",
          "sources": ["src/backend/native/isa-avx512.c"],
          "cflags_c": ["-mavx512f", "-mavx2", "-mfma"],
        },
      ],
    }],
  ],
}
