// Package mesos holds the Mesos v1 API types in their JSON form (proto field
// names, enums as strings, bytes as base64, IDs as {"value": ...} objects),
// resource and attribute math and parsers, and ID generation.
//
// Optional proto fields with a declared default are pointers so that "absent"
// differs from "zero"; accessor methods return the proto default. Decoding is
// lenient as Mesos' stout is: JSON null means unset, scalar values accept
// numeric strings and "Infinity".
//
// The agent <-> master protocol (agentapi.go) is Strata's own; it follows the
// scheduler API's shape (a SUBSCRIBE stream of RecordIO events plus one POST
// per call) so that one set of tools serves both.
package mesos
