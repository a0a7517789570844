// Package schema is the one description of what an administrator can set
// on an IPC process and a name: the IPCP types, in the order their layers
// stack, each with the table of its bootstrap options (name, kind of value,
// range, default, help), and the load-balancing policies of names.
//
// Everything that reads or shows these facts derives from here:
//
//   - irmd.conf (stack/config) takes each type's keys, ranges, defaults and
//     the rules between them from the type's table, and reports a bad value
//     with the problem Option.Check finds;
//   - irm ipcp bootstrap (cmd/irm) takes its keywords and value checks from
//     the tables, and its help lists them with HelpOptions;
//   - each IPCP (stack/ipcp/...) checks the options irmd hands it with
//     Type.Parse, which also fills in the defaults;
//   - the option tables of docs/config.md and docs/irm.md are written by
//     ConfigTable and BootstrapTable: `make docs` rewrites them and a test
//     fails when the committed docs differ.
//
// The package has no dependencies beyond the standard library, so the irm
// client can use it without pulling in the stack.
package schema
