// A counted reference to a kernel object (anything with add_ref() and release()).
#pragma once

#include <utility>

namespace tpuring::kobj {

template <typename T>
class Ref {
public:
    Ref() noexcept = default;
    Ref(std::nullptr_t) noexcept {}

    // Takes over a reference the caller already holds.
    static Ref adopt(T *object) noexcept
    {
        Ref ref;
        ref.object_ = object;
        return ref;
    }
    // Adds a reference of its own.
    static Ref share(T *object) noexcept
    {
        if (object != nullptr)
            object->add_ref();
        return adopt(object);
    }

    Ref(const Ref &other) noexcept : object_(other.object_)
    {
        if (object_ != nullptr)
            object_->add_ref();
    }
    Ref(Ref &&other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
    template <typename U>
    Ref(Ref<U> &&other) noexcept : object_(other.detach())
    {
    }
    Ref &operator=(Ref other) noexcept
    {
        std::swap(object_, other.object_);
        return *this;
    }
    ~Ref()
    {
        if (object_ != nullptr)
            object_->release();
    }

    T *get() const noexcept { return object_; }
    T *operator->() const noexcept { return object_; }
    T &operator*() const noexcept { return *object_; }
    explicit operator bool() const noexcept { return object_ != nullptr; }

    // Gives up the reference without releasing it.
    T *detach() noexcept { return std::exchange(object_, nullptr); }

private:
    T *object_ = nullptr;
};

} // namespace tpuring::kobj
