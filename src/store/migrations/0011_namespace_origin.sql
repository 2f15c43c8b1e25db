-- Where a namespace's name came from when `--namespace auto` derived it
-- from a git repository: `git-remote` with the normalised remote URL, or
-- `git-folder` with the repository's folder. Both stay NULL for a
-- namespace named as is, and for every namespace written before this step.
ALTER TABLE namespaces ADD COLUMN origin_source TEXT;
ALTER TABLE namespaces ADD COLUMN origin_detail TEXT;
