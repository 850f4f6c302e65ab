/** The relocatable backing's name: what its volumes, its config section and the events it reports carry. */
export const EBS_BACKING = 'ebs';
