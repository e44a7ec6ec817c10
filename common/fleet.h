/* fleet.h - many PBXes at once: a profile value that names several
 * profiles ("pbx1,pbx2", "@office", "@all"), expanded from the config
 * file's [@group] sections ("profiles = pbx1, pbx2, @other"). "@all" is
 * every profile of the file and cannot be defined. */
#ifndef AMI_FLEET_H
#define AMI_FLEET_H

#include <stddef.h>

/* Whether a -p / AMI_PROFILE value names several profiles (a list or a
 * group) rather than one. */
int fleet_is_list(const char *spec);

struct fleet {
	char **names;               /* profile names, each once, in the order named */
	size_t n;
};

/* Expands spec through the config file (explicit_file as for config_path).
 * RC_OK, or RC_CONFIG with the message printed: an unknown profile or
 * group, a cycle of groups, an empty name, a group that says nothing. */
int fleet_expand(struct fleet *f, const char *explicit_file, const char *spec);
void fleet_free(struct fleet *f);

/* Calls each(group, expansion) for every [@group] of the file ("@all"
 * first, then the file's groups in order); expansion is the profiles it
 * names, comma-separated (a group that cannot be expanded says so, and
 * why on stderr). */
int fleet_list_groups(const char *explicit_file,
		      void (*each)(const char *group, const char *expansion, void *arg), void *arg);

#endif
