#pragma once
// Overloaded{lambdas...}: one visitor for std::visit out of a lambda per alternative.

namespace pangeo_forge::detail {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace pangeo_forge::detail
