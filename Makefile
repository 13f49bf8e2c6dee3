# The README's commands.  Meson does the building; this file only chains the
# steps: install what is missing, configure once, build, then run or test.

BUILD_DIR := _build
ASAN_DIR  := _build-asan

# CI sets CI=true: warnings are errors there, and so they are here then.
WERROR := $(if $(CI),true,false)

MESON_FLAGS := -Dwerror=$(WERROR)
ASAN_FLAGS  := $(MESON_FLAGS) -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

.PHONY: all deps build run test bench asan install screenshots flatpak clean

all: build

deps:
	@build-aux/install-deps.sh

# Configures on first use, and reapplies the flags on later runs (cheap when
# nothing changed) so that a CI=true run always builds with -Werror.
define configure
	@if [ -f $(1)/build.ninja ]; then meson configure $(1) $(2); \
	 else meson setup $(1) $(2); fi
endef

build: deps
	$(call configure,$(BUILD_DIR),$(MESON_FLAGS))
	meson compile -C $(BUILD_DIR)

run: build
	@build-aux/run.sh $(BUILD_DIR)

test: build
	@build-aux/run-tests.sh $(BUILD_DIR)

bench: build
	meson test -C $(BUILD_DIR) --benchmark --verbose

# AddressSanitizer and UndefinedBehaviorSanitizer over the whole suite; any
# report aborts the test that caused it.
asan: deps
	$(call configure,$(ASAN_DIR),$(ASAN_FLAGS))
	meson compile -C $(ASAN_DIR)
	@ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:fast_unwind_on_malloc=0 \
	 LSAN_OPTIONS=suppressions=$(CURDIR)/build-aux/lsan.supp:print_suppressions=0 \
	 UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
	 build-aux/run-tests.sh $(ASAN_DIR) --timeout-multiplier 4

install: build
	meson install -C $(BUILD_DIR)

# Builds and installs the Flatpak for this user (needs flatpak-builder and
# the GNOME 50 SDK: see the README's "Install").
flatpak:
	flatpak-builder --user --install --force-clean _flatpak flatpak/io.github.synmesh.SynapticMesh.json

# The end-to-end app test photographs the window; the latest pictures are
# kept in the tree for the metainfo.
screenshots: build
	@build-aux/run-tests.sh $(BUILD_DIR) test-app-session
	cp $(BUILD_DIR)/tests/screenshots/*.png data/screenshots/

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) _flatpak .flatpak-builder
