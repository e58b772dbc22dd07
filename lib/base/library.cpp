// LoadLibrary / FreeLibrary / GetProcAddress over dlopen.
//
// Every handle LoadLibrary returned is counted in a registry, so that FreeLibrary and
// GetProcAddress can reject a handle the library never gave out instead of passing a wild
// pointer to the dynamic linker. dlopen/dlclose/dlsym run without the registry lock held:
// library constructors may call LoadLibrary themselves.
#include "base/library.h"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "base/last_error.h"
#include <tpuring/win32.h>

namespace tpuring {

namespace {

struct LoadedModule {
    void *handle;
    std::size_t references; // dlopen references this library holds on the handle
};

class ModuleRegistry {
public:
    // Records one more reference; false if memory ran out.
    bool add(void *handle) noexcept
    {
        std::lock_guard lock(mutex_);
        if (LoadedModule *module = find(handle)) {
            ++module->references;
            return true;
        }
        if (count_ == capacity_ && !grow())
            return false;
        modules_[count_++] = LoadedModule{handle, 1};
        return true;
    }

    // Drops one reference; false if the handle holds none.
    bool remove(void *handle) noexcept
    {
        std::lock_guard lock(mutex_);
        LoadedModule *module = find(handle);
        if (module == nullptr)
            return false;
        if (--module->references == 0)
            *module = modules_[--count_];
        return true;
    }

    bool contains(void *handle) noexcept
    {
        std::lock_guard lock(mutex_);
        return find(handle) != nullptr;
    }

private:
    LoadedModule *find(void *handle) noexcept
    {
        for (std::size_t i = 0; i < count_; ++i)
            if (modules_[i].handle == handle)
                return &modules_[i];
        return nullptr;
    }

    bool grow() noexcept
    {
        std::size_t capacity = capacity_ == 0 ? 16 : capacity_ * 2;
        void *grown = std::realloc(modules_, capacity * sizeof(LoadedModule));
        if (grown == nullptr)
            return false;
        modules_ = static_cast<LoadedModule *>(grown);
        capacity_ = capacity;
        return true;
    }

    std::mutex mutex_;
    LoadedModule *modules_ = nullptr;
    std::size_t count_ = 0;
    std::size_t capacity_ = 0;
};

// Never destroyed: libraries may be freed from thread-exit or atexit code.
ModuleRegistry &registry() noexcept
{
    alignas(ModuleRegistry) static unsigned char storage[sizeof(ModuleRegistry)];
    static ModuleRegistry *instance = new (storage) ModuleRegistry();
    return *instance;
}

HMODULE load(const char *path) noexcept
{
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr)
        return fail(ERROR_MOD_NOT_FOUND, static_cast<HMODULE>(nullptr));
    if (!registry().add(handle)) {
        dlclose(handle);
        return fail(ERROR_NOT_ENOUGH_MEMORY, static_cast<HMODULE>(nullptr));
    }
    return static_cast<HMODULE>(handle);
}

// Appends the UTF-8 form of one code point; returns the new length.
std::size_t append_utf8(char *out, std::size_t length, std::uint32_t code_point) noexcept
{
    if (code_point < 0x80) {
        out[length++] = static_cast<char>(code_point);
    } else if (code_point < 0x800) {
        out[length++] = static_cast<char>(0xC0 | (code_point >> 6));
        out[length++] = static_cast<char>(0x80 | (code_point & 0x3F));
    } else if (code_point < 0x10000) {
        out[length++] = static_cast<char>(0xE0 | (code_point >> 12));
        out[length++] = static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
        out[length++] = static_cast<char>(0x80 | (code_point & 0x3F));
    } else {
        out[length++] = static_cast<char>(0xF0 | (code_point >> 18));
        out[length++] = static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
        out[length++] = static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
        out[length++] = static_cast<char>(0x80 | (code_point & 0x3F));
    }
    return length;
}

// UTF-16 to a malloc'ed UTF-8 string (unpaired surrogates become U+FFFD); NULL if out of
// memory.
char *utf8_from_utf16(const WCHAR *text) noexcept
{
    std::size_t units = 0;
    while (text[units] != 0)
        ++units;
    // At most 3 bytes per UTF-16 unit (a surrogate pair gives 4 bytes for 2 units).
    char *out = static_cast<char *>(std::malloc(units * 3 + 1));
    if (out == nullptr)
        return nullptr;
    std::size_t length = 0;
    for (std::size_t i = 0; i < units; ++i) {
        std::uint32_t unit = text[i];
        std::uint32_t code_point = unit;
        if (unit >= 0xD800 && unit <= 0xDBFF && i + 1 < units && text[i + 1] >= 0xDC00 && text[i + 1] <= 0xDFFF) {
            code_point = 0x10000 + ((unit - 0xD800) << 10) + (text[i + 1] - 0xDC00u);
            ++i;
        } else if (unit >= 0xD800 && unit <= 0xDFFF) {
            code_point = 0xFFFD;
        }
        length = append_utf8(out, length, code_point);
    }
    out[length] = '\0';
    return out;
}

} // namespace

BOOL module_add_ref(HMODULE module) noexcept
{
    void *handle = static_cast<void *>(module);
    if (handle == nullptr || !registry().contains(handle))
        return fail(ERROR_INVALID_HANDLE, FALSE);
    // dlopen of the module's own path takes one more dynamic-linker reference on it.
    link_map *map = nullptr;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || map == nullptr)
        return fail(ERROR_INVALID_HANDLE, FALSE);
    void *again = dlopen(map->l_name, RTLD_NOW | RTLD_NOLOAD);
    if (again == nullptr)
        return fail(ERROR_INVALID_HANDLE, FALSE);
    if (!registry().add(again)) {
        dlclose(again);
        return fail(ERROR_NOT_ENOUGH_MEMORY, FALSE);
    }
    return TRUE;
}

} // namespace tpuring

extern "C" {

TPURING_API HMODULE tpuring_LoadLibraryA(LPCSTR lpLibFileName)
{
    if (lpLibFileName == nullptr || lpLibFileName[0] == '\0')
        return tpuring::fail(ERROR_MOD_NOT_FOUND, static_cast<HMODULE>(nullptr));
    return tpuring::load(lpLibFileName);
}

TPURING_API HMODULE tpuring_LoadLibraryW(LPCWSTR lpLibFileName)
{
    if (lpLibFileName == nullptr || lpLibFileName[0] == 0)
        return tpuring::fail(ERROR_MOD_NOT_FOUND, static_cast<HMODULE>(nullptr));
    char *path = tpuring::utf8_from_utf16(lpLibFileName);
    if (path == nullptr)
        return tpuring::fail(ERROR_NOT_ENOUGH_MEMORY, static_cast<HMODULE>(nullptr));
    HMODULE module = tpuring::load(path);
    std::free(path);
    return module;
}

TPURING_API BOOL tpuring_FreeLibrary(HMODULE hLibModule)
{
    void *handle = static_cast<void *>(hLibModule);
    if (handle == nullptr || !tpuring::registry().remove(handle))
        return tpuring::fail(ERROR_INVALID_HANDLE, FALSE);
    dlclose(handle);
    return TRUE;
}

TPURING_API FARPROC tpuring_GetProcAddress(HMODULE hModule, LPCSTR lpProcName)
{
    // Values below 0x10000 are export ordinals on Windows; shared objects have none.
    if (reinterpret_cast<std::uintptr_t>(lpProcName) < 0x10000)
        return tpuring::fail(ERROR_PROC_NOT_FOUND, static_cast<FARPROC>(nullptr));
    void *handle = static_cast<void *>(hModule);
    if (handle == nullptr)
        handle = RTLD_DEFAULT;
    else if (!tpuring::registry().contains(handle))
        return tpuring::fail(ERROR_MOD_NOT_FOUND, static_cast<FARPROC>(nullptr));
    void *symbol = dlsym(handle, lpProcName);
    if (symbol == nullptr)
        return tpuring::fail(ERROR_PROC_NOT_FOUND, static_cast<FARPROC>(nullptr));
    return reinterpret_cast<FARPROC>(symbol);
}

} // extern "C"
