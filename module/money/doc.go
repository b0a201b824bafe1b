// Package money holds amounts of the account's currency exactly, as the
// per-tenant budgets, the estimates of a send's cost and the ledger need
// them: a tenant's spend must equal, to the last micro-unit, the sum of
// what restlink charged.
//
// Its rules:
//
//   - An Amount is a whole number of micro-units (millionths) of the
//     currency. Amounts are added and compared as integers, never as
//     floating-point numbers.
//   - Parse reads an amount from its JSON text (summary.total_cost, a
//     delivery report's cost, a price or a balance, as restlink writes
//     them) digit by digit. A value that is not a whole number of
//     micro-units, or that does not fit, is an error, never rounded.
//   - FromConfig reads an amount from the config (a YAML number or a
//     string), through the same exact parse.
//   - Split divides a send's total among its messages in proportion to
//     their segments, by the largest-remainder rule, so that the shares
//     sum exactly to the total.
//   - String and MarshalJSON write an amount as a decimal with at most 6
//     places, which Parse reads back to the same Amount.
//
// The currency itself is not part of an Amount: an account has one, and
// the caller keeps it beside the amounts it holds.
package money
