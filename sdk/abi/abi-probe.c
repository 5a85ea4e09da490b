/* sdk/abi/abi-probe.c - makes every public type of the module ABI visible
 * to abidw.
 *
 * abidw describes only the types reachable from a shared object's exported
 * functions and variables.  This file, compiled with -g into a shared
 * object, exports one function per public struct, enum and typedef of
 * sdk/include/poczta/ (a pointer parameter is enough: the DWARF then holds
 * the full layout), and a module descriptor written with POCZTA_MODULE().
 * tests/integration/test-abi.sh compares what abidw makes of it with the
 * committed baseline sdk/abi/poczta-abi-MAJOR.MINOR.xml.
 *
 * A type added to the headers must get its row here, or the check cannot
 * see it.
 */
#include <poczta/poczta.h>

#define PZ_ABI_PROBE(name, type)                             \
	PZ_EXPORT void pz_abi_probe_##name(type *p);          \
	PZ_EXPORT void pz_abi_probe_##name(type *p) { (void)p; }

/* Values of the ABI that are macros, not types: as enumerators, abidw
 * records them. */
enum pz_abi_probe_constants {
	PZ_ABI_PROBE_MODULE_MAGIC = PZ_MODULE_MAGIC,
	PZ_ABI_PROBE_MODULE_SYMBOL_LEN = sizeof(PZ_MODULE_SYMBOL) - 1,
	PZ_ABI_PROBE_IMAP_DATE_MAX = PZ_IMAP_DATE_MAX,
};
PZ_ABI_PROBE(constants, enum pz_abi_probe_constants)

/* poczta/types.h */
PZ_ABI_PROBE(module, pz_module)
PZ_ABI_PROBE(pool, pz_pool)
PZ_ABI_PROBE(conn, pz_conn)
PZ_ABI_PROBE(user, pz_user)
PZ_ABI_PROBE(stream, pz_stream)
PZ_ABI_PROBE(sasl, pz_sasl)
PZ_ABI_PROBE(filter_msg, pz_filter_msg)
PZ_ABI_PROBE(mail_user, pz_mail_user)
PZ_ABI_PROBE(mailbox, pz_mailbox)
PZ_ABI_PROBE(save, pz_save)
PZ_ABI_PROBE(error_class, enum pz_error_class)
PZ_ABI_PROBE(error, pz_error)
PZ_ABI_PROBE(uid_range, struct pz_uid_range)
PZ_ABI_PROBE(uidset, pz_uidset)
PZ_ABI_PROBE(uid_array, pz_uid_array)
PZ_ABI_PROBE(flag, enum pz_flag)
PZ_ABI_PROBE(special_use, enum pz_special_use)
PZ_ABI_PROBE(log_level, enum pz_log_level)

/* poczta/module.h */
PZ_ABI_PROBE(module_kind, enum pz_module_kind)
PZ_ABI_PROBE(conf_type, enum pz_conf_type)
PZ_ABI_PROBE(config_key, struct pz_config_key)
PZ_ABI_PROBE(module_desc, struct pz_module_desc)
PZ_ABI_PROBE(module_desc_fn, pz_module_desc_fn *)

/* poczta/protocol.h */
PZ_ABI_PROBE(protocol_ops, struct pz_protocol_ops)

/* poczta/auth.h */
PZ_ABI_PROBE(auth_result, enum pz_auth_result)
PZ_ABI_PROBE(auth_ops, struct pz_auth_ops)

/* poczta/search.h */
PZ_ABI_PROBE(search_type, enum pz_search_type)
PZ_ABI_PROBE(search_key, struct pz_search_key)

/* poczta/storage.h */
PZ_ABI_PROBE(mailbox_attr, enum pz_mailbox_attr)
PZ_ABI_PROBE(open_flag, enum pz_open_flag)
PZ_ABI_PROBE(mailbox_info, struct pz_mailbox_info)
PZ_ABI_PROBE(status_item, enum pz_status_item)
PZ_ABI_PROBE(mailbox_status, struct pz_mailbox_status)
PZ_ABI_PROBE(msg_info, struct pz_msg_info)
PZ_ABI_PROBE(sync_handler, struct pz_sync_handler)
PZ_ABI_PROBE(save_args, struct pz_save_args)
PZ_ABI_PROBE(store_mode, enum pz_store_mode)
PZ_ABI_PROBE(store_args, struct pz_store_args)
PZ_ABI_PROBE(quota, struct pz_quota)
PZ_ABI_PROBE(storage_ops, struct pz_storage_ops)

/* poczta/filter.h */
PZ_ABI_PROBE(filter_hook, enum pz_filter_hook)
PZ_ABI_PROBE(verdict_action, enum pz_verdict_action)
PZ_ABI_PROBE(verdict, struct pz_verdict)
PZ_ABI_PROBE(filter_ops, struct pz_filter_ops)

/* poczta/mail.h */
PZ_ABI_PROBE(mail_part, pz_mail_part)
PZ_ABI_PROBE(mail_part_flag, enum pz_mail_part_flag)
PZ_ABI_PROBE(mail_part_info, struct pz_mail_part_info)

/* poczta/host.h */
PZ_ABI_PROBE(io_result, enum pz_io_result)
PZ_ABI_PROBE(sasl_result, enum pz_sasl_result)
PZ_ABI_PROBE(stream_ops, struct pz_stream_ops)
PZ_ABI_PROBE(host, struct pz_host)
PZ_ABI_PROBE(search_field_cb, pz_search_field_cb)

/* The descriptor function a module exports, as POCZTA_MODULE() writes it:
 * its symbol name (abi_probe_LTX_poczta_module) is part of the ABI too. */
POCZTA_MODULE(abi_probe,
	.kinds = PZ_KIND_FILTER,
	.name = "abi-probe",
	.version = "0",
	.license = "MIT",
	.description = "ABI probe, never loaded")
